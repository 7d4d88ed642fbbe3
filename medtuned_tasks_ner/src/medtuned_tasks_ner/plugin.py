"""The MedTuned hook implementations for the six NER tasks (registered under the ``ner`` entry point).

Each task hook answers only for its own task names and returns None otherwise, so another plugin can
override one hook of these tasks with ``@hookimpl(tryfirst=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medtuned_core import Parsed, TaskInfo, hookimpl

from .loader import load_split
from .parser import TagScheme, parse_ner
from .scorer import score_entities
from .tasks import BY_NAME, TASKS, is_typed, tag_set

LINE_FORMAT = "{token} : {label}"
LINE_SEP = "\n"


def _mine(task: TaskInfo) -> bool:
    return task.name in BY_NAME


_SCHEMES: dict[str, TagScheme] = {}


def scheme_for(task: TaskInfo) -> TagScheme:
    """One scheme per task, kept: it caches how each raw label it has seen reads."""
    if task.name not in _SCHEMES:
        _SCHEMES[task.name] = TagScheme(tuple(tag_set(task)), is_typed(task))
    return _SCHEMES[task.name]


def render(tokens: Sequence[str], tags: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """The study's rendering: tokens joined by spaces in; one `token : tag` line per token out."""
    return {
        "input": " ".join(tokens),
        # LINE_FORMAT written with C-level joins (render runs over every sentence of every corpus).
        "output": LINE_SEP.join(map(" : ".join, zip(tokens, tags, strict=True))),
        "tagging": {"tokens": list(tokens), "labels": list(labels), "line": LINE_FORMAT, "sep": LINE_SEP},
    }


@hookimpl
def medtuned_register_tasks() -> list[TaskInfo]:
    return list(TASKS)


@hookimpl
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> list[dict[str, Any]] | None:
    if not _mine(task):
        return None
    return load_split(task, Path(data_dir) / task.data_folder, split, options or {})


@hookimpl
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    if not _mine(task):
        return None
    return render(example["tokens"], example["tags"], tag_set(task))


@hookimpl
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if not _mine(task):
        return None
    return parse_ner(text, input, reference, scheme_for(task))


@hookimpl
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if not _mine(task):
        return None
    return score_entities(golds, preds, per_type=is_typed(task))
