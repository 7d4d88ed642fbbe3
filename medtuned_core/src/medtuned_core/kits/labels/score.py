"""Scoring labels with scikit-learn, and every primary metric again as per-unit sums for confidence intervals.

The unparsed convention in scoring: an unparsed prediction is the label :data:`UNPARSED` and an unparsed
gold (a broken score file) the label :data:`GOLD_UNPARSED`. Neither is among a task's labels, so an unparsed
answer is always wrong for accuracy, a false negative on a gold label, and never a false positive of any
label (it is a column of its own in the confusion table). In a label *set* it is one extra predicted label
that no gold has, so it also costs precision: an unreadable answer is never right, not even where the gold
set is empty.

Single labels (:func:`score_labels`), ``metric`` one of:

* ``accuracy``;
* ``f1``: precision, recall and F1 of the ``positive`` label (BioBERT's ``re_eval.py``), with
  ``specificity`` (recall of the other label) when there are two labels and the ``counts`` tp/fp/fn/tn;
* ``micro_f1``: micro-averaged over the labels minus ``exclude`` (BLUE's i2b2-2010 leaves ``false`` out),
  with ``all_classes`` (every label) beside it;
* ``macro_f1``: the mean per-label F1 over the labels; ``macro="present"`` averages only the labels found in
  gold or prediction (PubMedQA's official evaluation), ``"all"`` counts an absent label as F1 0.

Every result also holds ``accuracy``, ``correct``, ``macro_f1``, ``per_label`` (precision, recall, F1,
support), ``confusion`` (gold rows, predicted columns plus ``<unparsed>``) and ``gold_counts`` /
``pred_counts``. An undefined ratio (0/0) is 0, as in the field's scripts.

Label sets (:func:`score_label_sets`): ``document_f1`` is BLUE's ``eval_hoc.py`` (per document: precision
|G∩P|/|P| and recall |G∩P|/|G|, each averaged over documents, F1 their harmonic mean), with the convention
BLUE leaves open: a document with no gold and no predicted label has P = R = 1, an empty side otherwise
gives 0. A document is the union of the rows ``document_of(row id)`` maps to it (HoC scores abstracts made
of sentences); without ``document_of`` each row is its own document. Beside it: label-averaged
``document_micro_f1`` / ``document_macro_f1`` (an absent label scores 1), ``document_f1_per_label``, and
the same per row (``sentence_micro_f1``, ``sentence_macro_f1``, ``sentence_exact_match``).

The ``*_units`` functions give the primary metric as :class:`~medtuned_core.types.UnitScores`: ``combine``
of the column sums of ``stats`` equals the ``score`` exactly (tests check it for every metric).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...types import Parsed, UnitScores

UNPARSED = "<unparsed>"
GOLD_UNPARSED = "<gold-unparsed>"
LABEL_METRICS = ("accuracy", "f1", "micro_f1", "macro_f1")
SET_METRICS = ("document_f1", "micro_f1")
MACRO = ("all", "present")


def label_vectors(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> tuple[list[str], list[str]]:
    """``(y_true, y_pred)`` with the unparsed sentinels in place, row for row."""
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} golds but {len(preds)} predictions")
    y_true = [g.value if g.ok and isinstance(g.value, str) else GOLD_UNPARSED for g in golds]
    y_pred = [p.value if p.ok and isinstance(p.value, str) else UNPARSED for p in preds]
    return y_true, y_pred


def row_ids(rows: Sequence[Mapping[str, Any]], n: int) -> list[str]:
    """Each row's id (``"(row i)"`` for a row without one): the units of an example-level metric."""
    out = []
    for i in range(n):
        row_id = rows[i].get("id") if i < len(rows) else None
        out.append(row_id if isinstance(row_id, str) and row_id else f"(row {i + 1} without id)")
    return out


def _included(labels: Sequence[str], metric: str, positive: str | None, exclude: Sequence[str]) -> list[str]:
    if metric == "f1":
        if positive not in labels:
            raise ValueError(f"metric f1 needs a positive label among {list(labels)}, got {positive!r}")
        return [positive]
    return [label for label in labels if label not in exclude]


def score_labels(
    golds: Sequence[Parsed],
    preds: Sequence[Parsed],
    labels: Sequence[str],
    *,
    metric: str = "accuracy",
    positive: str | None = None,
    exclude: Sequence[str] = (),
    macro: str = "all",
) -> dict[str, Any]:
    """One label per row, scored as the module docstring says."""
    from sklearn.metrics import precision_recall_fscore_support  # scoring only: listing tasks does not import it

    y_true, y_pred = label_vectors(golds, preds)
    labels = list(labels)
    included = _included(labels, metric, positive, exclude)
    if not y_true:
        return {"metric": metric, "score": 0.0, "accuracy": 0.0, "correct": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "macro_f1": 0.0}

    def prf(which: Sequence[str], average: str | None) -> tuple[Any, Any, Any, Any]:
        return precision_recall_fscore_support(y_true, y_pred, labels=list(which), average=average, zero_division=0.0)

    p, r, f, support = prf(labels, None)
    gold_counts, pred_counts = Counter(y_true), Counter(y_pred)
    correct = sum(t == q for t, q in zip(y_true, y_pred, strict=True))
    present = [i for i, label in enumerate(labels) if gold_counts[label] or pred_counts[label]]
    averaged = f if macro == "all" else f[present]
    cells = Counter(zip(y_true, y_pred, strict=True))
    columns = [*labels, UNPARSED]
    out: dict[str, Any] = {
        "metric": metric,
        "score": 0.0,
        "accuracy": correct / len(y_true),
        "correct": correct,
        "macro_f1": float(averaged.mean()) if len(averaged) else 0.0,
        "per_label": {
            label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(support[i])} for i, label in enumerate(labels)
        },
        # Rows: gold labels; columns: predicted labels and unparsed answers (counted directly: scikit-learn's
        # confusion_matrix refuses a label set absent from y_true, as when every gold is unparsed).
        "confusion": {"gold": labels, "predicted": columns, "matrix": [[cells[g, q] for q in columns] for g in labels]},
        "gold_counts": {label: gold_counts[label] for label in labels},
        "pred_counts": {label: pred_counts[label] for label in labels},
    }
    if metric == "f1":
        i = labels.index(positive)
        out.update(precision=float(p[i]), recall=float(r[i]), f1=float(f[i]), score=float(f[i]))
        pairs = list(zip(y_true, y_pred, strict=True))
        # tn: a non-positive gold read as itself; an unparsed answer on a negative gold is in no cell.
        out["counts"] = {
            "tp": sum(t == positive and q == positive for t, q in pairs),
            "fp": sum(t != positive and q == positive for t, q in pairs),
            "fn": sum(t == positive and q != positive for t, q in pairs),
            "tn": sum(t == q != positive for t, q in pairs),
        }
        if len(labels) == 2:
            out["specificity"] = float(r[1 - i])  # recall of the negative label; re_eval.py reports it too
    elif metric == "micro_f1":
        mp, mr, mf, _ = prf(included, "micro")
        out.update(precision=float(mp), recall=float(mr), f1=float(mf), score=float(mf))
        if len(included) < len(labels):
            ap, ar, af, _ = prf(labels, "micro")
            out["all_classes"] = {"precision": float(ap), "recall": float(ar), "f1": float(af)}
    elif metric == "macro_f1":
        out["score"] = out["macro_f1"]
    else:
        out["score"] = out["accuracy"]
    return out


# -- per-unit statistics -------------------------------------------------------------------------------------


def _np() -> Any:
    import numpy

    return numpy


def combine_ratio(stats: Any) -> Any:
    """``(hits, n) -> hits / n`` (0 where n is 0): accuracy, and any mean of per-unit values."""
    np = _np()
    s = np.asarray(stats, dtype=float)
    return np.divide(s[..., 0], s[..., 1], out=np.zeros_like(s[..., 0]), where=s[..., 1] > 0)


def combine_f1(stats: Any, empty: float = 0.0) -> Any:
    """``(tp, fp, fn) -> 2tp / ((tp + fn) + (tp + fp))``, scikit-learn's arithmetic; ``empty`` where nothing is to find or found."""
    np = _np()
    s = np.asarray(stats, dtype=float)
    tp, fp, fn = s[..., 0], s[..., 1], s[..., 2]
    den = (tp + fn) + (tp + fp)
    return np.divide(2.0 * tp, den, out=np.full_like(den, empty), where=den > 0)


def combine_macro_f1(stats: Any, k: int, present_only: bool = False) -> Any:
    """``k`` labels' ``(tp, fp, fn)`` side by side -> the mean per-label F1 (over the labels present, if asked)."""
    np = _np()
    s = np.asarray(stats, dtype=float)
    s = s.reshape(*s.shape[:-1], k, 3)
    f1 = combine_f1(s)
    if not present_only:
        return f1.mean(axis=-1)
    present = (s[..., 0] + s[..., 1] + s[..., 2]) > 0
    count = present.sum(axis=-1).astype(float)
    return np.divide(np.where(present, f1, 0.0).sum(axis=-1), count, out=np.zeros_like(count), where=count > 0)


def combine_document_f1(stats: Any) -> Any:
    """``(sum of per-document precision, sum of recall, documents) -> F1`` of the mean precision and recall (BLUE)."""
    np = _np()
    s = np.asarray(stats, dtype=float)
    p, r = combine_ratio(s[..., [0, 2]]), combine_ratio(s[..., [1, 2]])
    return np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)


def label_units(
    golds: Sequence[Parsed],
    preds: Sequence[Parsed],
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    *,
    metric: str = "accuracy",
    positive: str | None = None,
    exclude: Sequence[str] = (),
    macro: str = "all",
) -> UnitScores:
    """The primary metric of :func:`score_labels` as per-example statistics."""
    y_true, y_pred = label_vectors(golds, preds)
    ids = row_ids(rows, len(y_true))
    pairs = list(zip(y_true, y_pred, strict=True))
    if metric == "accuracy":
        correct = [t == q for t, q in pairs]
        return UnitScores("example", ids, [[float(c), 1.0] for c in correct], combine_ratio, correct=correct)
    if metric == "macro_f1":
        labels = list(labels)
        stats = [[float(x) for c in labels for x in (t == q == c, q == c != t, t == c != q)] for t, q in pairs]
        return UnitScores("example", ids, stats, functools.partial(combine_macro_f1, k=len(labels), present_only=macro == "present"))
    inside = set(_included(list(labels), metric, positive, exclude))
    stats = [[float(t == q and t in inside), float(q in inside and q != t), float(t in inside and q != t)] for t, q in pairs]
    return UnitScores("example", ids, stats, combine_f1)


# -- label sets ----------------------------------------------------------------------------------------------


def _sets(golds: Sequence[Parsed], preds: Sequence[Parsed], none: str | None) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} golds but {len(preds)} predictions")
    drop = {none} if none is not None else set()
    gold = [frozenset(g.value or ()) - drop if g.ok else frozenset() for g in golds]  # an unreadable gold has no label
    pred = [frozenset(p.value or ()) - drop if p.ok else frozenset({UNPARSED}) for p in preds]
    return gold, pred


def _documents(
    gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]], rows: Sequence[Mapping[str, Any]], document_of: Callable[[str], str] | None
) -> dict[str, tuple[set[str], set[str]]]:
    """Document id -> (gold union, predicted union); a row without an id is a document of its own."""
    documents: dict[str, tuple[set[str], set[str]]] = {}
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        row_id = rows[i].get("id") if i < len(rows) else None
        if not (isinstance(row_id, str) and row_id):
            doc = f"(row {i + 1} without id)"
        else:
            doc = document_of(row_id) if document_of is not None else row_id
        doc_gold, doc_pred = documents.setdefault(doc, (set(), set()))
        doc_gold |= g
        doc_pred |= p
    return documents


def document_stats(gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]]) -> list[list[float]]:
    """Per document ``[precision, recall, 1]`` by BLUE's eval_hoc arithmetic and the empty-set convention."""
    out = []
    for g, p in zip(gold, pred, strict=True):
        hit = len(g & p)
        out.append([hit / len(p) if p else float(not g), hit / len(g) if g else float(not p), 1.0])
    return out


def blue_document_prf(gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]]) -> tuple[float, float, float]:
    """BLUE eval_hoc: mean per-document precision and recall, and the F1 of those means."""
    np = _np()
    sums = np.asarray(document_stats(gold, pred), dtype=float).reshape(-1, 3).sum(axis=0)
    p, r = combine_ratio(sums[[0, 2]]), combine_ratio(sums[[1, 2]])
    return float(p), float(r), float(combine_document_f1(sums))


def _set_f1s(gold: Sequence[frozenset[str]], pred: Sequence[frozenset[str]], labels: Sequence[str]) -> tuple[float, float, Any]:
    """``(micro F1 incl. unparsed answers, macro F1 over the labels, per-label F1)``; an absent label scores 1."""
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer(classes=[*labels, UNPARSED])
    y_true, y_pred = binarizer.fit_transform(gold), binarizer.transform(pred)
    micro = f1_score(y_true, y_pred, average="micro", zero_division=1.0)
    per_label = f1_score(y_true, y_pred, labels=list(range(len(labels))), average=None, zero_division=1.0)
    return float(micro), float(per_label.mean()), per_label


def score_label_sets(
    golds: Sequence[Parsed],
    preds: Sequence[Parsed],
    rows: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
    *,
    metric: str = "document_f1",
    none: str | None = None,
    document_of: Callable[[str], str] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Label sets per row, scored per document and per row (module docstring). ``labels`` excludes ``none``;
    ``names`` gives the keys of ``document_f1_per_label`` (default: the labels)."""
    gold, pred = _sets(golds, preds, none)
    if not gold:
        return {"metric": metric, "score": 0.0, "documents": 0}
    labels = [label for label in labels if label != none]
    documents = _documents(gold, pred, rows, document_of)
    doc_gold = [frozenset(g) for g, _ in documents.values()]
    doc_pred = [frozenset(p) for _, p in documents.values()]
    precision, recall, f1 = blue_document_prf(doc_gold, doc_pred)
    doc_micro, doc_macro, doc_per_label = _set_f1s(doc_gold, doc_pred, labels)
    row_micro, row_macro, _ = _set_f1s(gold, pred, labels)
    names = names or {}
    return {
        "metric": metric,
        "score": f1 if metric == "document_f1" else row_micro,
        "document_precision": precision,
        "document_recall": recall,
        "document_f1": f1,
        "document_micro_f1": doc_micro,
        "document_macro_f1": doc_macro,
        "document_f1_per_label": {names.get(label, label): float(f) for label, f in zip(labels, doc_per_label, strict=True)},
        "sentence_micro_f1": row_micro,
        "sentence_macro_f1": row_macro,
        "sentence_exact_match": sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold),
        "documents": len(documents),
    }


def label_set_units(
    golds: Sequence[Parsed],
    preds: Sequence[Parsed],
    rows: Sequence[Mapping[str, Any]],
    *,
    metric: str = "document_f1",
    none: str | None = None,
    document_of: Callable[[str], str] | None = None,
) -> UnitScores:
    """The primary metric of :func:`score_label_sets`: documents resampled for ``document_f1``, rows for ``micro_f1``."""
    gold, pred = _sets(golds, preds, none)
    ids = row_ids(rows, len(gold))
    if metric == "micro_f1":
        stats = [[float(len(g & p)), float(len(p - g)), float(len(g - p))] for g, p in zip(gold, pred, strict=True)]
        return UnitScores("example", ids, stats, functools.partial(combine_f1, empty=1.0))
    documents = _documents(gold, pred, rows, document_of)
    stats = document_stats([frozenset(g) for g, _ in documents.values()], [frozenset(p) for _, p in documents.values()])
    return UnitScores("document", list(documents), stats, combine_document_f1)
