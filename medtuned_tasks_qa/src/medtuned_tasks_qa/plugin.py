"""The hook implementations of medtuned-tasks-qa. Each answers only for its own tasks (else None), so another
plugin can take over one hook of one task with ``@hookimpl(tryfirst=True)``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medtuned_core import Parsed, TaskInfo, hookimpl

from . import parser, render, scorer
from .loader import LOADERS
from .tasks import CHATDOCTOR, MEDQA, PMC_LLAMA, PUBMEDQA, TASKS

_RENDER = {CHATDOCTOR: render.render_chatdoctor, PMC_LLAMA: render.render_pmc_llama, MEDQA: render.render_medqa, PUBMEDQA: render.render_pubmedqa}


@hookimpl
def medtuned_register_tasks() -> Sequence[TaskInfo]:
    return list(TASKS.values())


@hookimpl
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
    if task.name not in TASKS:
        return None
    return LOADERS[task.name](Path(data_dir) / task.data_folder, split, options)


@hookimpl
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    return _RENDER[task.name](example)


@hookimpl
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if task.name == MEDQA:
        return parser.parse_option(text, parser.options_from_input(input) or None)
    if task.name == PUBMEDQA:
        return parser.parse_decision(text)
    if task.name == CHATDOCTOR:
        return parser.parse_free_text(text)
    if task.name == PMC_LLAMA:
        return parser.parse_pmc_llama(text, input, reference)
    return None


@hookimpl
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if task.name == MEDQA:
        return scorer.accuracy(golds, preds)
    if task.name == PUBMEDQA:
        return scorer.decision_scores(golds, preds)
    if task.name == CHATDOCTOR:
        return scorer.rouge_scores(golds, preds)
    if task.name == PMC_LLAMA:
        return scorer.pmc_llama_scores(golds, preds)
    return None
