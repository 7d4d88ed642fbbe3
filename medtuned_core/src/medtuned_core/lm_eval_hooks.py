"""What lm-evaluation-harness calls when it runs a task that ``medtuned export lm-eval`` wrote (through the
``utils.py`` beside the task files): every answer is read and scored by the task's own MedTuned parse and score
hooks, so lm-eval reports the figure ``medtuned score`` gives on the same answers.

* Multiple-choice tasks: lm-eval hands over the summed log-likelihood of every choice. ``acc`` and ``acc_norm``
  are lm-eval's own definitions (argmax of the sums; of the sums divided by each choice's length in characters;
  ties to the first choice, as ``numpy.argmax``), and the ``acc`` pick is the answer MedTuned scores — the answer
  of ``medtuned evaluate --mode score --choice-scoring loglik``.
* Generation tasks: lm-eval hands over the generated text, cut at the prompt format's stop strings.

Each metric's per-document item is the score row ``{task, id, input, reference, prediction}``; the aggregation
scores the whole list at once, since entity F1 and positive-class F1 are corpus-level, not means of documents.
Nothing here imports lm-eval; MedTuned loads only when lm-eval first calls in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# lm-eval's own metric names that a task metric must not shadow (they would then mean something else).
RESERVED = frozenset({"acc", "acc_norm", "unparsed", "exact_match", "f1", "mcc", "perplexity"})


def metric_key(metric: str) -> str:
    """The lm-eval metric name of a MedTuned task metric: the metric itself, unless lm-eval uses that name."""
    return f"medtuned_{metric}" if metric in RESERVED else metric


def _registry():
    from .plugins import get_registry

    return get_registry()


def _task_key(doc: Mapping[str, Any]) -> str:
    return metric_key(_registry().get(doc["task"]).metric)


def score_row(doc: Mapping[str, Any], prediction: str) -> dict[str, Any]:
    """The row ``medtuned score`` reads, for one exported document and the model's answer."""
    return {"task": doc["task"], "id": str(doc["id"]), "input": doc["input"], "reference": doc["reference"], "prediction": prediction}


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def process_choice(doc: Mapping[str, Any], results: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``process_results`` of a multiple-choice task: ``results`` holds one ``(loglikelihood, is_greedy)`` per choice."""
    lls = [float(r[0]) for r in results]
    choices = list(doc["choices"])
    gold = int(doc["gold"])
    pick = _argmax(lls)
    pick_norm = _argmax([ll / max(len(c), 1) for ll, c in zip(lls, choices, strict=True)])
    return {"acc": float(pick == gold), "acc_norm": float(pick_norm == gold), _task_key(doc): score_row(doc, choices[pick])}


def process_generation(doc: Mapping[str, Any], results: Sequence[str]) -> dict[str, Any]:
    """``process_results`` of a generation task: ``results[0]`` is the generated answer."""
    row = score_row(doc, results[0])
    return {_task_key(doc): row, "unparsed": row}


def aggregate(rows: Sequence[Mapping[str, Any]]) -> float:
    """The task's MedTuned score of every answer (``medtuned score``'s figure)."""
    from .scoring import score_rows

    results = score_rows(_registry(), [dict(r) for r in rows])
    if len(results) != 1:
        raise ValueError(f"expected the rows of one MedTuned task, got {', '.join(results) or 'none'}")
    ((name, result),) = results.items()
    if "error" in result:
        raise RuntimeError(f"MedTuned could not score {name}: {result['error']}")
    return float(result["score"])


def unparsed(rows: Sequence[Mapping[str, Any]]) -> float:
    """How many answers the task's parser could not read (counted as wrong in the score, as in ``medtuned score``)."""
    from .scoring import parse_row

    registry = _registry()
    return float(sum(not parse_row(registry, dict(r)).pred.ok for r in rows))
