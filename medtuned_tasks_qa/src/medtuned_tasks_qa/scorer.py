"""The QA metrics.

- medqa: accuracy over option letters.
- pubmedqa: accuracy (primary) and macro-F1, computed as PubMedQA's own evaluation.py does
  (scikit-learn's ``accuracy_score`` and ``f1_score(average="macro")``).
- chatdoctor, pmc-llama: ROUGE-L F1 against the reference answer (Google's ``rouge-score``, Porter
  stemming). A weak proxy: it rewards word overlap with one reference answer, not medical correctness.
  pmc-llama also reports option accuracy over its multiple-choice rows.

An unparsed prediction is wrong (ROUGE 0 for an empty answer). The core adds ``n``, ``unparsed`` and ``gold_unparsed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from medtuned_core import Parsed

from .tasks import PUBMEDQA_LABELS

_UNPARSED = "<unparsed>"  # stands for an unreadable answer: wrong for every gold label, never a class of its own


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def accuracy(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    correct = sum(g.ok and p.ok and g.value == p.value for g, p in zip(golds, preds, strict=True))
    return {"metric": "accuracy", "score": correct / len(golds) if golds else 0.0, "correct": correct}


def decision_scores(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    """PubMedQA: accuracy and macro-F1 over the labels present in gold or prediction (as the official script)."""
    from sklearn.metrics import f1_score

    truth = [g.value if g.ok else _UNPARSED for g in golds]
    guess = [p.value if p.ok else _UNPARSED for p in preds]
    present = [label for label in PUBMEDQA_LABELS if label in truth or label in guess]
    out = accuracy(golds, preds)
    if not golds or not present:
        return {**out, "macro_f1": 0.0, "f1_per_label": {}}
    per_label = f1_score(truth, guess, labels=present, average=None, zero_division=0)
    return {
        **out,
        "macro_f1": float(per_label.mean()),
        "f1_per_label": {label: float(f1) for label, f1 in zip(present, per_label, strict=True)},
        "gold_counts": {label: truth.count(label) for label in PUBMEDQA_LABELS},
        "pred_counts": {label: guess.count(label) for label in PUBMEDQA_LABELS},
    }


@lru_cache(maxsize=1)
def _rouge() -> tuple[Any, Any]:
    """(scorer, tokenizer), built once and lazily: rouge-score loads NLTK, which `medtuned list-tasks` should not pay for.

    The tokenizer is rouge-score's own (same tokens as its default with Porter stemming) with the stems
    memoised: stemming is most of ROUGE's run time and answers repeat the same words.
    """
    from nltk.stem import porter
    from rouge_score import rouge_scorer, tokenize, tokenizers

    class _MemoStemmer:
        def __init__(self) -> None:
            self.stem = lru_cache(maxsize=1 << 17)(porter.PorterStemmer().stem)

    class _StemmingTokenizer(tokenizers.Tokenizer):
        def __init__(self) -> None:
            self._stemmer = _MemoStemmer()

        def tokenize(self, text: str) -> list[str]:
            return tokenize.tokenize(text, self._stemmer)

    tokenizer = _StemmingTokenizer()
    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=tokenizer), tokenizer


def rouge_f1(reference: str, prediction: str) -> dict[str, float]:
    """ROUGE-1/2/L F1 of one answer. Two texts with no scorable words (e.g. both empty) count as identical."""
    scorer, tokenizer = _rouge()
    if not tokenizer.tokenize(reference) and not tokenizer.tokenize(prediction):
        return {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    scores = scorer.score(reference, prediction)
    return {name: s.fmeasure for name, s in scores.items()}


_ZERO = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def _text(p: Parsed, key: str | None) -> str:
    value = p.value.get(key) if key and isinstance(p.value, dict) else p.value
    return value if isinstance(value, str) else ""


def rouge_scores(golds: Sequence[Parsed], preds: Sequence[Parsed], key: str | None = None) -> dict[str, Any]:
    """Mean ROUGE F1 over rows (an unparsed, i.e. empty, prediction scores 0); ``key`` picks the text out of a dict value."""
    per_row = [rouge_f1(_text(g, key), _text(p, key)) if p.ok else _ZERO for g, p in zip(golds, preds, strict=True)]
    return {
        "metric": "rougeL_f1",
        "score": _mean([r["rougeL"] for r in per_row]),
        "rouge1_f1": _mean([r["rouge1"] for r in per_row]),
        "rouge2_f1": _mean([r["rouge2"] for r in per_row]),
        "note": "ROUGE-L F1 against one reference answer: a weak proxy for answer quality",
    }


def pmc_llama_scores(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    """ROUGE over every row, plus option accuracy over the rows whose gold is ``OPTION X IS CORRECT``."""
    out = rouge_scores(golds, preds, key="text")
    choice = [
        (g.value["option"], p.value.get("option") if isinstance(p.value, dict) else None)
        for g, p in zip(golds, preds, strict=True)
        if g.ok and g.value["option"]
    ]
    out["option_rows"] = len(choice)
    out["option_accuracy"] = _mean([float(gold == pred) for gold, pred in choice]) if choice else None
    out["option_unparsed"] = sum(pred is None for _, pred in choice)
    return out
