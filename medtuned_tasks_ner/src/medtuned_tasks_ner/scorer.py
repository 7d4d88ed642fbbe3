"""Entity-level precision / recall / F1 with seqeval, as the field reports NER.

The primary ``score`` is seqeval's default mode: conlleval-compatible chunking, the figure BioBERT's
``conlleval.pl`` and the study's own seqeval call reported, so ours compare with published numbers.
The strict IOB2 figure (an ``I`` that does not continue an entity of its type is not an entity start)
stands beside it. Untyped B/I/O tags get a placeholder type (``ENT``) because seqeval's strict mode
needs one; typed tasks (i2b2-2012) also get per-type figures. Parse diagnostics are summed so a
score can be read next to how much of the output was actually understood.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from medtuned_core import Parsed

PLACEHOLDER_TYPE = "ENT"
DIAGNOSTIC_COUNTS = ("tokens", "lines", "aligned", "substituted", "moved", "missing", "extra", "invalid")


def _typed(tag: str) -> str:
    return tag if tag == "O" or len(tag) > 1 else f"{tag}-{PLACEHOLDER_TYPE}"


def _clean(value: object) -> list[str]:
    return [t if isinstance(t, str) and t else "O" for t in value] if isinstance(value, list) else []


def _sequences(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> tuple[list[list[str]], list[list[str]], set[int]]:
    """Gold and predicted tag sequences for seqeval, and which predictions had to be padded or cut.

    Positions where gold and prediction are both ``O`` are collapsed to one such position per run, and
    sentences left with nothing else are dropped. Entities — their number, types and which ones match — are
    unchanged in both seqeval modes (a run of ``O`` ends or separates chunks the same whatever its length),
    but seqeval's per-token Python loop then sees a fraction of the tokens: most tokens of a corpus are ``O``.
    """
    y_true, y_pred, mismatched = [], [], set()
    for row, (gold, pred) in enumerate(zip(golds, preds, strict=True)):
        g, p = _clean(gold.value), _clean(pred.value)
        if len(p) != len(g):
            mismatched.add(row)
            p = (p + ["O"] * len(g))[: len(g)]
        if g == p and all(t == "O" for t in g):
            continue
        gt, pt = [], []
        both_o = False
        for a, b in zip(g, p, strict=True):
            if a == "O" and b == "O":
                if both_o:
                    continue
                both_o = True
            else:
                both_o = False
            gt.append(_typed(a))
            pt.append(_typed(b))
        y_true.append(gt)
        y_pred.append(pt)
    if not y_true:
        y_true, y_pred = [["O"]], [["O"]]  # no entity anywhere; seqeval's strict mode rejects an empty corpus
    return y_true, y_pred, mismatched


def _figures(p: float, r: float, f: float) -> dict[str, float]:
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def score_entities(golds: Sequence[Parsed], preds: Sequence[Parsed], per_type: bool) -> dict[str, Any]:
    """The score hook's result for one task; ``per_type`` adds a figure per entity type."""
    from seqeval.metrics import sequence_labeling, v1  # imported here: seqeval pulls in numpy and scikit-learn
    from seqeval.scheme import IOB2

    y_true, y_pred, mismatched = _sequences(golds, preds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about undefined ratios; zero_division=0 already decides them
        p, r, f, support = sequence_labeling.precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
        sp, sr, sf, _ = v1.precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0, mode="strict", scheme=IOB2)
        types: dict[str, dict[str, float]] = {}
        if per_type:
            names = sorted({t[2:] for seq in (*y_true, *y_pred) for t in seq if t != "O"})
            tp, tr, tf, ts = sequence_labeling.precision_recall_fscore_support(y_true, y_pred, average=None, zero_division=0)
            for i, name in enumerate(names):
                types[name] = {**_figures(tp[i], tr[i], tf[i]), "support": int(ts[i])}
    diagnostics = {k: sum(int(pr.diagnostics.get(k, 0) or 0) for pr in preds) for k in DIAGNOSTIC_COUNTS}
    misaligned = {row for row, pr in enumerate(preds) if any(pr.diagnostics.get(k) for k in ("missing", "extra", "invalid", "substituted", "moved"))}
    out: dict[str, Any] = {
        "metric": "entity_f1",
        "score": float(f),
        **_figures(p, r, f),
        "mode": "seqeval default (conlleval-compatible)",
        "strict": {**_figures(sp, sr, sf), "mode": "seqeval strict IOB2"},
        "gold_entities": int(support),
        "misaligned": len(misaligned | mismatched),  # rows whose answer did not map cleanly onto the tokens
        "length_mismatch": len(mismatched),
        "parse": diagnostics,
    }
    if per_type:
        out["per_type"] = types
    return out
