"""Entity-level precision / recall / F1 with seqeval, as the field reports NER.

The primary ``score`` is seqeval's default mode: conlleval-compatible chunking, the figure BioBERT's
``conlleval.pl`` and the study's own seqeval call reported, so ours compare with published numbers.
The strict figure in the task's scheme (IOB2: an ``I`` that does not continue an entity of its type is
not an entity start; IOBES/BILOU: only well-formed chunks count) stands beside it. Untyped tags get a
placeholder type (``ENT``) because seqeval's strict mode needs one; typed tasks also get per-type
figures. The default mode knows B/I/E/S, so BILOU's L and U are read as its E and S there. Parse
diagnostics are summed so a score can be read next to how much of the output was actually understood.

One deliberate difference from seqeval: a set where neither gold nor prediction holds any entity
scores 1.0 (nothing to find, nothing wrongly found), not seqeval's 0/0 = 0, so gold-as-prediction is
1.0 on every set. :func:`entity_units` gives the same figure as per-sentence ``(tp, fp, fn)`` counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ...types import Parsed, UnitScores
from .scheme import OUTSIDE, TagScheme

PLACEHOLDER_TYPE = "ENT"
# seqeval's strict-mode scheme class for each of ours; BILOU's prefixes in the default mode's letters.
SEQEVAL_SCHEMES = {"iob1": "IOB1", "iob2": "IOB2", "iobes": "IOBES", "bilou": "BILOU"}
_DEFAULT_MODE_LETTERS = {"L": "E", "U": "S"}
DIAGNOSTIC_COUNTS = ("tokens", "lines", "aligned", "substituted", "moved", "missing", "extra", "invalid")


def _typed(tag: str) -> str:
    return tag if tag == OUTSIDE or len(tag) > 1 else f"{tag}-{PLACEHOLDER_TYPE}"


def default_mode_tags(tags: Sequence[str]) -> list[str]:
    """Tags as seqeval's default mode reads them: BILOU's L/U become E/S (other tags are unchanged)."""
    return [_DEFAULT_MODE_LETTERS[t[0]] + t[1:] if t[:1] in _DEFAULT_MODE_LETTERS else t for t in tags]


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


def score_entities(golds: Sequence[Parsed], preds: Sequence[Parsed], scheme: TagScheme, per_type: bool) -> dict[str, Any]:
    """The score hook's result for one task in ``scheme``; ``per_type`` adds a figure per entity type."""
    from seqeval import scheme as seqeval_schemes  # imported here: seqeval pulls in numpy and scikit-learn
    from seqeval.metrics import sequence_labeling, v1

    y_true, y_pred, mismatched = _sequences(golds, preds)
    nothing = not any(t != OUTSIDE for seq in (*y_true, *y_pred) for t in seq)
    strict_scheme = getattr(seqeval_schemes, SEQEVAL_SCHEMES[scheme.name])
    loose_true, loose_pred = ([default_mode_tags(s) for s in y] for y in (y_true, y_pred)) if scheme.name == "bilou" else (y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about undefined ratios; zero_division=0 already decides them
        p, r, f, support = sequence_labeling.precision_recall_fscore_support(loose_true, loose_pred, average="micro", zero_division=0)
        sp, sr, sf, _ = v1.precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0, mode="strict", scheme=strict_scheme)
        if nothing:
            p = r = f = sp = sr = sf = 1.0  # no entity in gold or prediction: nothing missed, nothing invented
        types: dict[str, dict[str, float]] = {}
        if per_type and not nothing:
            names = sorted({t[2:] for seq in (*loose_true, *loose_pred) for t in seq if t != OUTSIDE})
            tp, tr, tf, ts = sequence_labeling.precision_recall_fscore_support(loose_true, loose_pred, average=None, zero_division=0)
            for i, name in enumerate(names):
                types[name] = {**_figures(tp[i], tr[i], tf[i]), "support": int(ts[i])}
    diagnostics = {k: sum(int(pr.diagnostics.get(k, 0) or 0) for pr in preds) for k in DIAGNOSTIC_COUNTS}
    misaligned = {row for row, pr in enumerate(preds) if any(pr.diagnostics.get(k) for k in ("missing", "extra", "invalid", "substituted", "moved"))}
    out: dict[str, Any] = {
        "metric": "entity_f1",
        "score": float(f),
        **_figures(p, r, f),
        "mode": "seqeval default (conlleval-compatible)",
        "strict": {**_figures(sp, sr, sf), "mode": f"seqeval strict {SEQEVAL_SCHEMES[scheme.name]}"},
        "gold_entities": int(support),
        "misaligned": len(misaligned | mismatched),  # rows whose answer did not map cleanly onto the tokens
        "length_mismatch": len(mismatched),
        "parse": diagnostics,
    }
    if per_type:
        out["per_type"] = types
    return out


def entity_f1(stats: Any) -> Any:
    """Micro entity F1 from summed ``(tp, fp, fn)`` (last axis), in seqeval's own arithmetic; 1.0 where there is
    no entity on either side."""
    import numpy as np

    stats = np.asarray(stats, dtype=np.int64)
    tp, fp, fn = stats[..., 0], stats[..., 1], stats[..., 2]
    pred, true = tp + fp, tp + fn
    precision = tp / np.where(pred == 0, 1, pred)
    recall = tp / np.where(true == 0, 1, true)
    denom = 1.0 * precision + recall
    f1 = 2.0 * precision * recall / np.where(denom == 0.0, 1, denom)
    return np.where(pred + true == 0, 1.0, f1)


def entity_units(golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]], scheme: TagScheme) -> UnitScores:
    """Per-sentence ``(tp, fp, fn)`` of seqeval's default mode; ``entity_f1`` of their sums is the score."""
    from seqeval.metrics.sequence_labeling import get_entities

    ids, stats = [], []
    for row, (gold, pred) in enumerate(zip(golds, preds, strict=True)):
        g, p = _clean(gold.value), _clean(pred.value)
        p = (p + [OUTSIDE] * len(g))[: len(g)]
        if scheme.name == "bilou":
            g, p = default_mode_tags(g), default_mode_tags(p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            true, found = set(get_entities([_typed(t) for t in g])), set(get_entities([_typed(t) for t in p]))
        tp = len(true & found)
        stats.append([tp, len(found) - tp, len(true) - tp])
        ids.append(str(rows[row].get("id", row)) if row < len(rows) else str(row))
    return UnitScores(unit="sentence", ids=ids, stats=stats, combine=entity_f1)
