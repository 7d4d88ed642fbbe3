"""The field's metrics for the two relation tasks (scikit-learn does the counting).

* ``gad``: precision, recall and F1 of the positive class, as BioBERT's ``biocodes/re_eval.py``
  (which also prints specificity = recall of the negative class), plus accuracy. Primary: F1.
* ``i2b2-2010``: micro precision/recall/F1 over the eight relation types with ``No Relations``
  left out, as BLUE's ``blue/eval_rel.py`` (its ``sub_report`` without ``false``). Primary: that
  micro-F1. Also the all-classes micro figure, accuracy and per-type figures.

An unparsed prediction is a class of its own, ``UNPARSED``, that matches no gold: on a gold relation
(or a GAD ``Positive``) it is a false negative; it never counts as a false positive of any class, and
it is always wrong for accuracy. As in those scripts, an undefined ratio (0/0) is reported as 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sklearn.metrics import precision_recall_fscore_support

from medtuned_core import Parsed

from .tasks import GAD_NEGATIVE, GAD_POSITIVE, I2B2_OUTPUTS, I2B2_RELATIONS

UNPARSED = "<unparsed>"  # a prediction that named no label
GOLD_UNPARSED = "<gold-unparsed>"  # a reference that named no label (a broken score file); matches nothing


def _labels(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> tuple[list[str], list[str]]:
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} golds but {len(preds)} predictions")
    y_true = [g.value if g.ok and isinstance(g.value, str) else GOLD_UNPARSED for g in golds]
    y_pred = [p.value if p.ok and isinstance(p.value, str) else UNPARSED for p in preds]
    return y_true, y_pred


def _prf(y_true: list[str], y_pred: list[str], labels: Sequence[str], average: str | None) -> tuple[Any, Any, Any, Any]:
    return precision_recall_fscore_support(y_true, y_pred, labels=list(labels), average=average, zero_division=0.0)


def _accuracy(y_true: list[str], y_pred: list[str]) -> float:
    return sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true) if y_true else 0.0


def score_gad(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    y_true, y_pred = _labels(golds, preds)
    if not y_true:
        return {"metric": "f1", "score": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.0, "specificity": 0.0}
    p, r, f, _ = _prf(y_true, y_pred, [GAD_POSITIVE, GAD_NEGATIVE], None)
    pairs = list(zip(y_true, y_pred, strict=True))
    # tn counts only Negative read as Negative: an unparsed answer on a Negative gold is in no cell.
    counts = {
        "tp": sum(t == GAD_POSITIVE and q == GAD_POSITIVE for t, q in pairs),
        "fp": sum(t != GAD_POSITIVE and q == GAD_POSITIVE for t, q in pairs),
        "fn": sum(t == GAD_POSITIVE and q != GAD_POSITIVE for t, q in pairs),
        "tn": sum(t == GAD_NEGATIVE and q == GAD_NEGATIVE for t, q in pairs),
    }
    return {
        "metric": "f1",
        "score": float(f[0]),
        "precision": float(p[0]),
        "recall": float(r[0]),
        "f1": float(f[0]),
        "accuracy": _accuracy(y_true, y_pred),
        "specificity": float(r[1]),  # recall of Negative; re_eval.py reports it too
        "counts": counts,
    }


def score_i2b2_2010(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    y_true, y_pred = _labels(golds, preds)
    if not y_true:
        return {"metric": "micro_f1", "score": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.0}
    p, r, f, _ = _prf(y_true, y_pred, I2B2_RELATIONS, "micro")
    all_p, all_r, all_f, _ = _prf(y_true, y_pred, I2B2_OUTPUTS, "micro")
    per_p, per_r, per_f, per_n = _prf(y_true, y_pred, I2B2_OUTPUTS, None)
    # Rows: gold output, columns: predicted output, then a column for unparsed predictions.
    # Counted directly: sklearn's confusion_matrix refuses a label set absent from y_true (all golds unparsed).
    columns = [*I2B2_OUTPUTS, UNPARSED]
    cells = Counter(zip(y_true, y_pred, strict=True))
    matrix = [[cells[gold, pred] for pred in columns] for gold in I2B2_OUTPUTS]
    return {
        "metric": "micro_f1",
        "score": float(f),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "all_classes": {"precision": float(all_p), "recall": float(all_r), "f1": float(all_f)},
        "accuracy": _accuracy(y_true, y_pred),
        "per_type": {
            label: {"precision": float(per_p[i]), "recall": float(per_r[i]), "f1": float(per_f[i]), "support": int(per_n[i])}
            for i, label in enumerate(I2B2_OUTPUTS)
        },
        "confusion": {"gold": list(I2B2_OUTPUTS), "predicted": columns, "matrix": matrix},
    }
