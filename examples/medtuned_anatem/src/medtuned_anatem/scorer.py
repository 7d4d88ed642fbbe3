"""Entity-level micro F1 with seqeval, as NER is scored in the field (conlleval-compatible by default)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medtuned_core import Parsed


def score_tags(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    # Imported here, not at module level: seqeval pulls in scikit-learn, and `medtuned list-tasks` imports every plugin.
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    y_true = [list(gold.value) for gold in golds]
    # An unparsed or misaligned prediction is all O: each gold entity in it counts as missed.
    y_pred = [list(pred.value) if pred.ok and len(pred.value) == len(gold) else ["O"] * len(gold) for gold, pred in zip(y_true, preds, strict=True)]
    if not any(tag != "O" for seq in y_true + y_pred for tag in seq):
        return {"metric": "entity_f1", "score": 1.0, "precision": 1.0, "recall": 1.0, "strict_f1": 1.0, "per_type": {}}
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    per_type = {kind: round(float(v["f1-score"]), 6) for kind, v in report.items() if not kind.endswith(" avg")}
    return {
        "metric": "entity_f1",
        "score": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        # Strict IOB2: an entity must start with B- (the default mode also accepts one starting with I-).
        "strict_f1": float(f1_score(y_true, y_pred, mode="strict", scheme=IOB2, zero_division=0)),
        "per_type": per_type,
    }
