"""The hook implementations of the AnatEM plugin (the ``medtuned.plugins`` entry point).

Each task hook answers only for this plugin's tasks and returns None for any other, so this
plugin combines with others and any one hook can be overridden by a ``tryfirst`` plugin.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from medtuned_core import Parsed, TaskInfo, hookimpl

from .loader import read_split, split_folder
from .parser import parse_tags
from .scorer import score_tags
from .tasks import LABELS, TASKS

LINE = "{token} : {label}"


@hookimpl
def medtuned_register_tasks() -> list[TaskInfo]:
    return list(TASKS.values())


@hookimpl
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterator[dict[str, Any]] | None:
    if task.name not in TASKS:
        return None
    folder = split_folder(task.name, Path(data_dir) / task.data_folder, split)  # raises now if the split is absent
    return read_split(folder)


@hookimpl
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    tokens, tags = example["tokens"], example["tags"]
    return {
        "input": " ".join(tokens),
        "output": "\n".join(LINE.format(token=t, label=g) for t, g in zip(tokens, tags, strict=True)),
        # Lets `medtuned evaluate --mode score` force the "token : " parts and choose only the labels.
        "tagging": {"tokens": tokens, "labels": list(LABELS), "line": LINE, "sep": "\n"},
    }


@hookimpl
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if task.name not in TASKS:
        return None
    return parse_tags(text, input)


@hookimpl
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    return score_tags(golds, preds)
