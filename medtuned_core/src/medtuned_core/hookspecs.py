"""The MedTuned hook specifications: one hook to declare tasks, four to run them, one to resample scores,
and one to add model backends.

Task hooks are ``firstresult``: each plugin returns ``None`` for tasks it does not handle, so the
provider answers for its own tasks and a third-party plugin may override one hook of any task by
answering first (``@hookimpl(tryfirst=True)``). Documented in docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pluggy

from .types import Parsed, TaskInfo, UnitScores

hookspec = pluggy.HookspecMarker("medtuned")
hookimpl = pluggy.HookimplMarker("medtuned")


@hookspec
def medtuned_register_tasks() -> Sequence[TaskInfo]:
    """Return the metadata of every task this plugin provides."""


@hookspec(firstresult=True)
def medtuned_load_corpus(task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
    """Yield the examples of ``split`` from ``data_dir / task.data_folder``, in corpus order; each has a unique ``id``."""


@hookspec(firstresult=True)
def medtuned_render_instruction(task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
    """Turn one example into ``{"input", "output"}`` (plus optional ``choices`` / ``tagging`` hints) under ``instruction``."""


@hookspec(firstresult=True)
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    """Read a model's free text (or a gold output) as structure; must never raise."""


@hookspec(firstresult=True)
def medtuned_score(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Score parsed predictions against parsed golds: ``{"metric": name, "score": 0..1, ...details}``."""


@hookspec(firstresult=True)
def medtuned_score_units(task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores | None:
    """Optional: the primary metric as per-unit sums (:class:`UnitScores`) so confidence intervals resample units fast."""


@hookspec
def medtuned_register_backends(register: Callable[..., None]) -> None:
    """Add model backends: call ``register(name, load, description=..., options=..., requires=..., install=...)`` once per backend.

    ``load(model, **options)`` returns an object with the :class:`medtuned_core.evaluate.backend.Backend` interface;
    it is called only when ``--backend name`` is chosen, so import heavy libraries inside it, never at module level."""
