"""Scoring rows of ``{task, reference, prediction[, id, input]}`` through the parse and score hooks.

A task whose plugin fails (a hook raises or answers outside the contract, or the task name is claimed by
two plugins) gets an error entry ``{"error", "plugin", "n"}`` instead of figures; the other tasks are
still scored. :func:`failed_tasks` lists them, so that a command can exit non-zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CorpusFormatError, PluginError
from .io import read_jsonl
from .plugins import HookError, Registry, TaskConflictError
from .types import Parsed

REQUIRED = ("task", "reference", "prediction")


@dataclass
class ParsedRow:
    row: dict[str, Any]
    gold: Parsed
    pred: Parsed


def read_score_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a score file, each checked for the required string fields; an empty file is an error."""
    n = 0
    for lineno, row in read_jsonl(path):
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


def score_parsed(registry: Registry, parsed: Iterable[ParsedRow]) -> dict[str, dict[str, Any]]:
    """``{task: {"metric", "score", "n", "unparsed", "gold_unparsed", ...details}}`` in first-seen task order.

    A score hook that fails gives that task an error entry (see the module doc)."""
    by_task: dict[str, list[ParsedRow]] = {}
    for item in parsed:
        by_task.setdefault(item.row["task"], []).append(item)
    results = {}
    for name, items in by_task.items():
        try:
            results[name] = _score_task(registry, name, items)
        except PluginError as exc:
            results[name] = error_entry(exc, len(items))
    return results


def _score_task(registry: Registry, name: str, items: list[ParsedRow]) -> dict[str, Any]:
    task = registry.get(name)
    out = registry.score(task, [i.gold for i in items], [i.pred for i in items], [i.row for i in items])
    return {
        "metric": out.get("metric", task.metric),
        "score": out["score"],
        "n": len(items),
        "unparsed": sum(not i.pred.ok for i in items),
        "gold_unparsed": sum(not i.gold.ok for i in items),
        **{k: v for k, v in out.items() if k not in ("metric", "score")},
    }


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


def score_rows(registry: Registry, rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parse and score ``rows`` task by task; a task whose plugin fails gets an error entry (module doc)."""
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
        results.update(score_parsed(registry, parsed))
    return results
