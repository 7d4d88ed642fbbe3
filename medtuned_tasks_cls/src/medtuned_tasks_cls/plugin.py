"""The hook implementations of ``medtuned-tasks-cls``; each answers only for this package's tasks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

from medtuned_core.hookspecs import hookimpl
from medtuned_core.types import Parsed, TaskInfo

from .labels import HALLMARKS, OUTPUTS, render_labels
from .loader import hoc_file, read_hoc
from .parser import parse_hoc
from .scorer import score_hoc
from .tasks import TASKS

# The outputs ranked in log-likelihood scoring: every single label (ten hallmarks and None) and every
# pair of hallmarks in the standard order; 56 strings. Singles and pairs cover 99.6% of test sentences
# (3,417 + 115 of 3,547); triples and beyond would add 120+ strings for 14 sentences. The empty output
# is left out: an empty continuation is not a meaningful answer to rank.
HOC_CHOICES: tuple[str, ...] = (*OUTPUTS, *(render_labels([a, b]) for a, b in combinations(HALLMARKS, 2)))


@hookimpl
def medtuned_register_tasks() -> list[TaskInfo]:
    return list(TASKS.values())


@hookimpl
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
    if task.name not in TASKS:
        return None
    path = hoc_file(task.name, Path(data_dir) / task.data_folder, split)  # a missing split fails here, not on first read
    return read_hoc(path)


@hookimpl
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    return {"input": example["text"], "output": render_labels(example["labels"]), "choices": list(HOC_CHOICES)}


@hookimpl
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if task.name not in TASKS:
        return None
    return parse_hoc(text, reference)


@hookimpl
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    return score_hoc(golds, preds, rows)
