"""Scoring rows of ``{task, reference, prediction[, id, input]}`` through the parse and score hooks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CorpusFormatError
from .jsonl import read_jsonl
from .plugins import Registry
from .types import Parsed

REQUIRED = ("task", "reference", "prediction")


@dataclass
class ParsedRow:
    row: dict[str, Any]
    gold: Parsed
    pred: Parsed


def read_score_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Rows of a score file, each checked for the required string fields. Rows of ``evaluate``'s position-bias
    control (``rotation`` 1 or more: a question asked again with its options rotated) are not examples: skipped."""
    for lineno, row in read_jsonl(path):
        if row.get("rotation"):
            continue
        for key in REQUIRED:
            if not isinstance(row.get(key), str):
                raise CorpusFormatError(path, lineno, f"field {key!r} must be a string")
        yield row


def parse_row(registry: Registry, row: dict[str, Any]) -> ParsedRow:
    task = registry.get(row["task"])
    gold = registry.parse(task, row["reference"], input=row.get("input"), reference=None)
    pred = registry.parse(task, row["prediction"], input=row.get("input"), reference=row["reference"])
    return ParsedRow(row, gold, pred)


def score_parsed(registry: Registry, parsed: Iterable[ParsedRow]) -> dict[str, dict[str, Any]]:
    """``{task: {"metric", "score", "n", "unparsed", "gold_unparsed", ...details}}`` in first-seen task order."""
    by_task: dict[str, list[ParsedRow]] = {}
    for item in parsed:
        by_task.setdefault(item.row["task"], []).append(item)
    results = {}
    for name, items in by_task.items():
        task = registry.get(name)
        out = registry.score(task, [i.gold for i in items], [i.pred for i in items], [i.row for i in items])
        results[name] = {
            "metric": out.get("metric", task.metric),
            "score": out["score"],
            "n": len(items),
            "unparsed": sum(not i.pred.ok for i in items),
            "gold_unparsed": sum(not i.gold.ok for i in items),
            **{k: v for k, v in out.items() if k not in ("metric", "score")},
        }
    return results


def score_rows(registry: Registry, rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return score_parsed(registry, (parse_row(registry, r) for r in rows))
