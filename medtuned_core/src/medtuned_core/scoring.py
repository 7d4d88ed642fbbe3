"""Scoring rows of ``{task, reference, prediction[, id, input]}`` through the parse and score hooks, and the
units a score is resampled over for its confidence interval (stats.py).

A task whose plugin fails (a hook raises or answers outside the contract, or the task name is claimed by
two plugins) gets an error entry ``{"error", "plugin", "n"}`` instead of figures; the other tasks are
still scored. :func:`failed_tasks` lists them, so that a command can exit non-zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import stats
from .errors import CorpusFormatError, PluginError
from .io import read_jsonl
from .plugins import HookError, Registry, TaskConflictError
from .types import Parsed, TaskInfo, UnitScores

REQUIRED = ("task", "reference", "prediction")


@dataclass
class ParsedRow:
    row: dict[str, Any]
    gold: Parsed
    pred: Parsed


def read_score_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a score file, each checked for the required string fields; an empty file is an error. Rows of
    ``evaluate``'s position-bias control (``rotation`` 1 or more: a question asked again with its options rotated)
    are not examples: skipped."""
    n = 0
    for lineno, row in read_jsonl(path):
        if row.get("rotation"):
            continue
        for key in REQUIRED:
            if not isinstance(row.get(key), str):
                raise CorpusFormatError(path, lineno, f"field {key!r} must be a string")
        n += 1
        yield row
    if n == 0:
        raise CorpusFormatError(path, None, "no rows to score (the file is empty)")


def parse_row(registry: Registry, row: dict[str, Any]) -> ParsedRow:
    task = registry.get(row["task"])
    gold = registry.parse(task, row["reference"], input=row.get("input"), reference=None)
    pred = registry.parse(task, row["prediction"], input=row.get("input"), reference=row["reference"])
    return ParsedRow(row, gold, pred)


def score_task(registry: Registry, task: TaskInfo, items: Sequence[ParsedRow]) -> dict[str, Any]:
    """``{"metric", "score", "n", "unparsed", "gold_unparsed", ...details}`` of one task's parsed rows."""
    out = registry.score(task, [i.gold for i in items], [i.pred for i in items], [i.row for i in items])
    return {
        "metric": out.get("metric", task.metric),
        "score": out["score"],
        "n": len(items),
        "unparsed": sum(not i.pred.ok for i in items),
        "gold_unparsed": sum(not i.gold.ok for i in items),
        **{k: v for k, v in out.items() if k not in ("metric", "score")},
    }


def score_parsed(
    registry: Registry,
    parsed: Iterable[ParsedRow],
    *,
    n_boot: int = 0,
    level: float = stats.DEFAULT_LEVEL,
    seed: int = stats.DEFAULT_SEED,
) -> dict[str, dict[str, Any]]:
    """``{task: {"metric", "score", "n", "unparsed", "gold_unparsed", ...details}}`` in first-seen task order;
    with ``n_boot`` resamples, also the bootstrap interval of the score (``ci_low``, ``ci_high``, ``n_boot``,
    ``ci_level``, ``ci_unit``). A task whose plugin fails gets an error entry (see the module doc)."""
    by_task: dict[str, list[ParsedRow]] = {}
    for item in parsed:
        by_task.setdefault(item.row["task"], []).append(item)
    results = {}
    for name, items in by_task.items():
        try:
            task = registry.get(name)
            results[name] = score_task(registry, task, items)
            if n_boot:
                results[name].update(stats.interval(task_units(registry, task, items, results[name]), n_boot, level, seed))
        except PluginError as exc:
            results[name] = error_entry(exc, len(items))
    return results


def task_units(registry: Registry, task: TaskInfo, items: Sequence[ParsedRow], result: dict[str, Any]) -> stats.Units:
    """The units a task's score is resampled over: the task's own ``medtuned_score_units`` when a plugin
    answers (checked against ``result``, the score hook's figure); otherwise every row is an example, with
    its own score as its statistic when the metric proves to be the mean of the rows' scores (accuracy,
    mean ROUGE), else rescored through ``medtuned_score`` once per resample."""
    offered = registry.score_units(task, [i.gold for i in items], [i.pred for i in items], [i.row for i in items])
    if offered is not None:
        return _checked_units(task, offered, float(result["score"]))
    rescored = rescored_units(registry, task, items)
    per_row = stats.row_scores_if_mean(rescored.score, len(items), float(result["score"])) if items else None
    if per_row is None:
        return rescored
    right = per_row == 1.0 if result.get("metric") == "accuracy" else None
    return stats.SummedUnits("example", rescored.ids, np.column_stack([per_row, np.ones(len(per_row))]), stats.ratio, right)


def rescored_units(registry: Registry, task: TaskInfo, items: Sequence[ParsedRow]) -> stats.RescoredUnits:
    """Every row an example; a resample is scored by calling ``medtuned_score`` on its rows."""
    golds, preds, rows = [i.gold for i in items], [i.pred for i in items], [i.row for i in items]

    def rescore(idx: list[int]) -> float:
        return float(registry.score(task, [golds[k] for k in idx], [preds[k] for k in idx], [rows[k] for k in idx])["score"])

    return stats.RescoredUnits("example", [str(row["id"]) if row.get("id") is not None else f"row {k + 1}" for k, row in enumerate(rows)], rescore)


def _checked_units(task: TaskInfo, units: Any, score: float) -> stats.SummedUnits:
    """A plugin's UnitScores as arrays, refused with one line when it breaks the hook's contract."""

    def refuse(problem: str) -> PluginError:
        return PluginError(f"task {task.name!r}: medtuned_score_units of {task.package or 'a plugin'} {problem}")

    if not isinstance(units, UnitScores):
        raise refuse(f"returned {type(units).__name__}, not UnitScores")
    n = len(units.ids)
    try:
        table = np.asarray(units.stats, dtype=np.float64) if n else np.zeros((0, 1))
    except (TypeError, ValueError) as exc:
        raise refuse(f"gave stats that are not {n} rows of numbers ({exc})") from None
    if table.ndim != 2 or table.shape[0] != n or not np.all(np.isfinite(table)):
        raise refuse(f"gave stats that are not {n} rows of finite numbers (one per unit id), shape {table.shape}")
    if len(set(units.ids)) != n:
        raise refuse("gave the same unit id twice")
    if units.correct is not None and len(units.correct) != n:
        raise refuse(f"gave {len(units.correct)} correct flags for {n} units")
    if n:
        total = table.sum(axis=0)
        try:
            both = np.asarray(units.combine(np.stack([total, total])), dtype=np.float64)
        except Exception as exc:
            raise refuse(f"has a combine that fails on a [2, k] array ({type(exc).__name__}: {exc})") from None
        if both.shape != (2,) or not math.isclose(float(both[0]), score, rel_tol=1e-9, abs_tol=1e-9):
            raise refuse(f"combines the summed stats to {both.tolist()}, not the score hook's {score}")
    correct = None if units.correct is None else np.asarray(units.correct, dtype=bool)
    return stats.SummedUnits(units.unit, [str(i) for i in units.ids], table, units.combine, correct)


def error_entry(exc: PluginError, n: int) -> dict[str, Any]:
    """The result of a task its plugin could not score: the one-line error, the plugin(s) and the row count."""
    if isinstance(exc, HookError):
        plugin: str | list[str] = exc.plugin
    elif isinstance(exc, TaskConflictError):
        plugin = exc.providers
    else:
        plugin = ""
    return {"error": str(exc), "plugin": plugin, "n": n}


def failed_tasks(results: dict[str, dict[str, Any]]) -> list[str]:
    return [name for name, result in results.items() if "error" in result]


def score_rows(registry: Registry, rows: Iterable[dict[str, Any]], **interval: Any) -> dict[str, dict[str, Any]]:
    """Parse and score ``rows`` task by task (``n_boot``, ``level``, ``seed`` give each score an interval); a task
    whose plugin fails gets an error entry (module doc)."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_task.setdefault(row["task"], []).append(row)
    results: dict[str, dict[str, Any]] = {}
    for name, task_rows in by_task.items():
        try:
            parsed = [parse_row(registry, r) for r in task_rows]
        except PluginError as exc:
            results[name] = error_entry(exc, len(task_rows))
            continue
        results.update(score_parsed(registry, parsed, **interval))
    return results
