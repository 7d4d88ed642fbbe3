"""The hook implementations. Each answers only for this package's tasks and returns None otherwise,
so another plugin can override one hook of ``gad`` or ``i2b2-2010`` with ``tryfirst=True``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medtuned_core import Parsed, TaskInfo, hookimpl

from .loader import load_gad, load_i2b2_2010
from .parser import parse_gad, parse_i2b2_2010
from .tasks import GAD, GAD_LABEL_TO_OUTPUT, GAD_OUTPUTS, I2B2_2010, I2B2_LABEL_TO_OUTPUT, I2B2_OUTPUTS, TASKS

OUTPUTS = {GAD: (GAD_LABEL_TO_OUTPUT, GAD_OUTPUTS), I2B2_2010: (I2B2_LABEL_TO_OUTPUT, I2B2_OUTPUTS)}


@hookimpl
def medtuned_register_tasks() -> list[TaskInfo]:
    return list(TASKS.values())


@hookimpl
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
    if task.name == GAD:
        return load_gad(data_dir, split, options)
    if task.name == I2B2_2010:
        return load_i2b2_2010(data_dir, split)
    return None


@hookimpl
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    to_output, outputs = OUTPUTS[task.name]
    # The study's form: the masked sentence is the input, the label name the output.
    return {"input": example["sentence"], "output": to_output[example["label"]], "choices": list(outputs)}


@hookimpl
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if task.name == GAD:
        return parse_gad(text)
    if task.name == I2B2_2010:
        return parse_i2b2_2010(text)
    return None


@hookimpl
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    if task.name not in TASKS:
        return None
    # Imported here so that loading the plugin (``medtuned list-tasks``) does not import scikit-learn.
    from .scorer import score_gad, score_i2b2_2010

    return score_gad(golds, preds) if task.name == GAD else score_i2b2_2010(golds, preds)
