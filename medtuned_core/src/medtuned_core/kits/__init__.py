"""Task kits: the reusable machinery of one answer shape, so that a new task is a declaration, not code.

A **kit** knows one shape of answer end to end — how to read corpora of that shape, render an example
as instruction text, parse a model's free text back into structure (never raising), and score it with
the field's standard library:

* ``tagging`` (:mod:`.tagging`): one tag per token (NER), IOB1/IOB2/IOBES/BILOU, seqeval entity F1;
* ``labels`` (:mod:`.labels`): one label, a label set or a multiple-choice option, scikit-learn metrics;
* ``text`` (:mod:`.text`): free text, ROUGE-L and exact match.

A **task** is a :class:`TaskSpec`: its :class:`~medtuned_core.types.TaskInfo` (name, metadata, templates,
splits, data folder...) plus the kit's own settings (the reader and its columns, the tag scheme, label
aliases...). Specs come from TOML files or one Python call (:mod:`.declare`), and
:class:`~medtuned_core.kits.declare.DeclaredTasks` turns any number of them into one plugin that
implements every hook by calling the spec's kit. Hooks stay the escape hatch: any plugin may still
implement a hook in Python, and may override one hook of a declared task with
``@hookimpl(tryfirst=True)``.

Writing a kit: implement :class:`Kit` (every method; ``configure`` validates the settings once, at
declaration time) and register it with :func:`register_kit`, or add it to :data:`BUILTIN_KITS`.
"""

from __future__ import annotations

import difflib
import importlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import MedTunedError
from ..types import Parsed, TaskInfo, UnitScores

# Kits of the core, imported on first use (``module:attribute`` of the Kit object).
BUILTIN_KITS: dict[str, str] = {
    "tagging": "medtuned_core.kits.tagging:KIT",
    "labels": "medtuned_core.kits.labels:KIT",
    "text": "medtuned_core.kits.text:KIT",
}


class DeclarationError(MedTunedError):
    """A task declaration is wrong: names the file and line where known, the key and what is expected.

    Kits raise it from :meth:`Kit.configure` with only ``key`` and ``message``; the declaration loader
    (:mod:`.declare`) adds the file and the line the key is on.
    """

    def __init__(self, message: str, *, key: str | None = None, origin: str | Path | None = None, line: int | None = None):
        self.message, self.key, self.origin, self.line = message, key, str(origin) if origin else None, line
        where = f"{self.origin}:{line}" if self.origin and line else self.origin
        what = f"key {key!r}: " if key else ""
        super().__init__(f"{where}: {what}{message}" if where else f"{what}{message}")

    def located(self, origin: str | Path | None, line: int | None, task: str | None = None) -> DeclarationError:
        """The same error placed in a file (keeps a place already known)."""
        message = f"task {task!r}: {self.message}" if task and "task '" not in self.message else self.message
        return DeclarationError(message, key=self.key, origin=self.origin or origin, line=self.line or line)


@dataclass(frozen=True)
class TaskSpec:
    """One declared task: its metadata and what its kit needs to run it.

    ``info`` is the task's :class:`TaskInfo` exactly as ``medtuned list-tasks`` shows it. ``kit`` names a
    kit (``"tagging"``, ``"labels"``, ``"text"`` or one registered by a plugin). ``reader`` names one of
    the kit's readers (``Kit.readers``) and ``files`` the file-name patterns it reads under the task's data
    folder, where ``{split}`` stands for each name a split goes by (``train``; ``validation``/``valid``/
    ``dev``/``devel``; ``test``); an empty ``files`` means the reader's default. ``settings`` holds the kit's
    own keys (columns, scheme, aliases... — each kit documents its keys in its module docstring).
    ``origin`` says where the task was declared (a TOML file, a module) for messages. ``config`` is what
    :meth:`Kit.configure` made of the settings; :func:`~medtuned_core.kits.declare.declare` fills it in.
    """

    info: TaskInfo
    kit: str
    reader: str = ""
    files: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    origin: str = ""
    config: Any = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.info.name

    def configured(self) -> TaskSpec:
        """This spec with ``config`` filled in by its kit (validates the settings; raises DeclarationError)."""
        return replace(self, config=get_kit(self.kit).configure(self))


@runtime_checkable
class Kit(Protocol):
    """What every kit implements. Each method receives the task's :class:`TaskSpec` (its ``config`` set).

    The five task methods back the five hooks of a declared task; the last three serve the
    conformance kit (:mod:`medtuned_core.testing`), which checks every declared task with them.
    """

    name: str  # the name declarations use: kit = "tagging"
    readers: tuple[str, ...]  # reader names a declaration may choose; the first is the default
    default_metric: str  # TaskInfo.metric when a declaration does not name one

    def configure(self, spec: TaskSpec) -> Any:
        """Validate ``spec.reader``, ``spec.files`` and ``spec.settings`` and return the kit's compiled form of
        them (stored as ``spec.config``). A bad value raises ``DeclarationError(message, key=...)``. Called
        once per task, when it is declared; must not read data (nor import heavy libraries). A config with a
        ``labels`` attribute supplies ``TaskInfo.labels`` when the declaration leaves them empty (the tagging
        kit derives the tag set from the scheme and the entity types)."""

    def load(self, spec: TaskSpec, folder: Path, split: str, options: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
        """The examples of ``split`` read from ``folder`` (the task's data folder) with the spec's reader, in
        corpus order, each with a unique str ``id``. A missing split raises ``MissingSplitError``; malformed
        input raises ``CorpusFormatError`` naming the file and line. All reading goes through
        :mod:`medtuned_core.io`."""

    def render(self, spec: TaskSpec, example: dict[str, Any], instruction: str) -> dict[str, Any]:
        """``{"input", "output"}`` for one example, plus the kit's decoding hints (``tagging``, ``choices``)."""

    def parse(self, spec: TaskSpec, text: str, input: str | None, reference: str | None) -> Parsed:
        """A model's text (or, with ``reference=None``, the gold output) read back as structure.
        Never raises, whatever ``text`` holds; what could not be read is counted in ``diagnostics``."""

    def score(self, spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """``{"metric", "score" (0..1), ...details}`` computed with the field's library."""

    def units(self, spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores:
        """The primary metric as per-unit sufficient statistics; ``combine`` of their column sums equals
        :meth:`score`'s ``score`` exactly."""

    def structure(self, spec: TaskSpec, example: dict[str, Any]) -> Any:
        """The answer a loaded example holds, in the form ``parse(gold output).value`` takes (tags per token,
        a label, a sorted label list...). The conformance kit checks parsed gold equals it."""

    def perturb(self, spec: TaskSpec, example: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A copy of ``example`` whose answer is changed at random (seeded by ``rng``) but stays valid for the
        task: rendered, it is a plausible wrong prediction."""

    def reference_score(self, spec: TaskSpec, golds: Sequence[Any], preds: Sequence[Any], ids: Sequence[str] | None = None) -> float:
        """The primary metric of ``structure`` values computed by calling the field's library directly
        (seqeval, scikit-learn), with none of the kit's own code: what :meth:`score` must agree with. ``ids``
        are the examples' ids, for metrics over groups of examples (HoC scores documents made of sentences)."""


_registered: dict[str, Kit] = {}


def register_kit(kit: Kit) -> Kit:
    """Make ``kit`` available to declarations under ``kit.name`` (a plugin's own kit); returns it."""
    if not isinstance(kit, Kit):
        raise TypeError(f"{kit!r} does not implement the Kit protocol")
    _registered[kit.name] = kit
    return kit


def kit_names() -> list[str]:
    return sorted({*BUILTIN_KITS, *_registered})


def get_kit(name: str) -> Kit:
    """The kit called ``name``; an unknown name raises DeclarationError with the nearest names."""
    if name in _registered:
        return _registered[name]
    if name not in BUILTIN_KITS:
        close = difflib.get_close_matches(str(name), kit_names(), n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise DeclarationError(f"unknown kit {name!r} (known: {', '.join(kit_names())}){hint}", key="kit")
    module, _, attr = BUILTIN_KITS[name].partition(":")
    try:
        kit = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise DeclarationError(f"kit {name!r} is not available ({type(exc).__name__}: {exc})", key="kit") from None
    _registered[name] = kit
    return kit


__all__ = ["BUILTIN_KITS", "DeclarationError", "Kit", "TaskSpec", "get_kit", "kit_names", "register_kit"]
