"""HoC's metrics: document-level F1 as BLUE and BLURB score it, plus sentence-level micro-F1.

Both benchmarks classify sentences but score abstracts: a document's gold and predicted label sets
are the unions over its sentences (document = the PMID part of the ``<PMID>_<i>`` row id), over the
ten hallmarks (``none`` is the absence of a label, not a class).

* ``score`` = ``document_f1``: BLUE's ``eval_hoc.py`` (ncbi-nlp/BLUE_Benchmark): per document
  precision |G∩P|/|P| and recall |G∩P|/|G|, each averaged over documents, and F1 = their harmonic
  mean (example-based, neither micro nor macro). Where BLUE divides by zero we decide: a document
  with no gold and no predicted hallmark has P = R = 1; an empty side otherwise gives 0.
* ``document_micro_f1`` / ``document_macro_f1``: the label-averaged F1s over the ten hallmarks on
  the same document sets (BLURB-style evaluators report one or the other; we report both).
* ``sentence_micro_f1``: micro-F1 over the ten hallmarks on sentences, no aggregation.

An unparsed answer counts as one extra predicted label no gold has ("<unparsed>"): a false positive
in every figure (it leaves the macro average over the ten hallmarks unchanged), so an unreadable
answer is never scored as right, even for a sentence or abstract with no hallmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medtuned_core.types import Parsed

from .labels import HALLMARK_NAMES, HALLMARKS, NONE
from .loader import document_of

INVALID = "<unparsed>"
COLUMNS = (*HALLMARKS, INVALID)


def gold_hallmarks(parsed: Parsed) -> frozenset[str]:
    """A gold's hallmarks; an unreadable gold (counted by the core as gold_unparsed) has none."""
    return frozenset(parsed.value or ()) - {NONE} if parsed.ok else frozenset()


def predicted_hallmarks(parsed: Parsed) -> frozenset[str]:
    return frozenset(parsed.value or ()) - {NONE} if parsed.ok else frozenset({INVALID})


def document_ids(rows: Sequence[dict[str, Any]], n: int) -> list[str]:
    """Each row's document: the PMID of its id; a row without an id is a document on its own."""
    out = []
    for i in range(n):
        row_id = rows[i].get("id") if i < len(rows) else None
        out.append(document_of(row_id) if isinstance(row_id, str) and row_id else f"(row {i + 1} without id)")
    return out


def blue_document_prf(golds: Sequence[frozenset[str]], preds: Sequence[frozenset[str]]) -> tuple[float, float, float]:
    """BLUE eval_hoc: mean per-document precision and recall, and the F1 of those means."""
    precisions, recalls = [], []
    for gold, pred in zip(golds, preds, strict=True):
        hit = len(gold & pred)
        precisions.append(hit / len(pred) if pred else float(not gold))
        recalls.append(hit / len(gold) if gold else float(not pred))
    if not precisions:
        return 0.0, 0.0, 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def label_f1s(golds: Sequence[frozenset[str]], preds: Sequence[frozenset[str]]) -> tuple[float, float, dict[str, float]]:
    """``(micro F1 incl. unparsed answers, macro F1 over the ten hallmarks, per-hallmark F1)``.

    A hallmark absent from both gold and predictions scores 1 (nothing to find, nothing wrongly found).
    """
    from sklearn.metrics import f1_score  # imported here: only scoring needs scikit-learn
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer(classes=list(COLUMNS))
    y_true, y_pred = binarizer.fit_transform(golds), binarizer.transform(preds)
    hallmark_columns = list(range(len(HALLMARKS)))
    micro = f1_score(y_true, y_pred, average="micro", zero_division=1.0)
    per_label = f1_score(y_true, y_pred, labels=hallmark_columns, average=None, zero_division=1.0)
    per_abbreviation = {HALLMARK_NAMES[label][1]: float(f) for label, f in zip(HALLMARKS, per_label, strict=True)}
    return float(micro), float(per_label.mean()), per_abbreviation


def score_hoc(golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    gold_sets = [gold_hallmarks(g) for g in golds]
    pred_sets = [predicted_hallmarks(p) for p in preds]
    if not gold_sets:
        return {"metric": "document_f1", "score": 0.0, "documents": 0}
    documents: dict[str, tuple[set[str], set[str]]] = {}
    for doc, gold, pred in zip(document_ids(rows, len(gold_sets)), gold_sets, pred_sets, strict=True):
        doc_gold, doc_pred = documents.setdefault(doc, (set(), set()))
        doc_gold |= gold
        doc_pred |= pred
    doc_golds = [frozenset(g) for g, _ in documents.values()]
    doc_preds = [frozenset(p) for _, p in documents.values()]
    precision, recall, f1 = blue_document_prf(doc_golds, doc_preds)
    doc_micro, doc_macro, doc_per_label = label_f1s(doc_golds, doc_preds)
    sentence_micro, sentence_macro, _ = label_f1s(gold_sets, pred_sets)
    return {
        "metric": "document_f1",
        "score": f1,
        "document_precision": precision,
        "document_recall": recall,
        "document_micro_f1": doc_micro,
        "document_macro_f1": doc_macro,
        "document_f1_per_hallmark": doc_per_label,
        "sentence_micro_f1": sentence_micro,
        "sentence_macro_f1": sentence_macro,
        "sentence_exact_match": sum(g == p for g, p in zip(gold_sets, pred_sets, strict=True)) / len(gold_sets),
        "documents": len(documents),
    }
