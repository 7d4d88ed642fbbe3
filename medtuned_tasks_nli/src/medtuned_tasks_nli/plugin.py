"""The hook implementations of ``medtuned-tasks-nli``; each answers only for this package's tasks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medtuned_core.hookspecs import hookimpl
from medtuned_core.types import Parsed, TaskInfo

from .loader import mednli_file, read_mednli
from .parser import parse_nli
from .scorer import score_nli
from .tasks import MEDNLI_LABEL_TO_OUTPUT, MEDNLI_OUTPUTS, TASKS


def render_input(sentence1: str, sentence2: str) -> str:
    """The study's input form: the premise, a newline, the hypothesis."""
    return f"Sentence 1: {sentence1}\nSentence 2: {sentence2}"


@hookimpl
def medtuned_register_tasks() -> list[TaskInfo]:
    return list(TASKS.values())


@hookimpl
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
    if task.name not in TASKS:
        return None
    path = mednli_file(task.name, Path(data_dir) / task.data_folder, split)  # a missing split fails here, not on first read
    return read_mednli(path, no_consensus=str(options.get("no_consensus", "skip")))


@hookimpl
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    return {
        "input": render_input(example["sentence1"], example["sentence2"]),
        "output": MEDNLI_LABEL_TO_OUTPUT[example["gold_label"]],
        "choices": list(MEDNLI_OUTPUTS),
    }


@hookimpl
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if task.name not in TASKS:
        return None
    return parse_nli(text)


@hookimpl
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    return score_nli(golds, preds)
