"""MedNLI's metric: accuracy over all pairs (Romanov & Shivade 2018; BLUE reports the same).

An unparsed answer is a wrong answer: it stays in the denominator, is never dropped and never mapped
to a class. Per-label precision/recall/F1, their macro average and the confusion table are details
for error analysis; ``<unparsed>`` is a prediction column of its own (a miss, never a false positive).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from medtuned_core.types import Parsed

from .tasks import MEDNLI_OUTPUTS

UNPARSED = "<unparsed>"


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def score_nli(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    pairs = [(g.value if g.ok else UNPARSED, p.value if p.ok else UNPARSED) for g, p in zip(golds, preds, strict=True)]
    correct = sum(g == p and g != UNPARSED for g, p in pairs)
    counts = Counter(pairs)
    per_label = {}
    for label in MEDNLI_OUTPUTS:
        tp = counts[(label, label)]
        support = sum(n for (g, _), n in counts.items() if g == label)
        predicted = sum(n for (_, p), n in counts.items() if p == label)
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        per_label[label] = {"precision": precision, "recall": recall, "f1": _ratio(2 * tp, support + predicted), "support": support}
    columns = (*MEDNLI_OUTPUTS, UNPARSED)
    return {
        "metric": "accuracy",
        "score": _ratio(correct, len(pairs)),
        "correct": correct,
        "macro_f1": sum(v["f1"] for v in per_label.values()) / len(per_label),
        "per_label": per_label,
        "confusion": {g: {p: counts[(g, p)] for p in columns} for g in columns if any(counts[(g, p)] for p in columns)},
    }
