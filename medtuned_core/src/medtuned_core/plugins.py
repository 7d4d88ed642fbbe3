"""Plugin discovery, validation and the task registry.

Plugins are found through the ``medtuned.plugins`` entry-point group. ``MEDTUNED_PLUGINS`` restricts
autoloading: unset loads every installed plugin; an empty string loads none (tests, locked-down
installs); a comma-separated list loads only those distributions or entry-point names. A broken
plugin is reported with its distribution and cause and never stops the others from loading.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from . import hookspecs
from .errors import MissingDataError, PluginError, UnknownTaskError
from .types import Parsed, TaskInfo, UnitScores

ENTRY_POINT_GROUP = "medtuned.plugins"
ENV_PLUGINS = "MEDTUNED_PLUGINS"
# Plugins of the core itself, always registered (datasette's DEFAULT_PLUGINS): the built-in model backends.
DEFAULT_PLUGINS = ("medtuned_core.evaluate.builtin_backends",)
TASK_HOOKS = ("medtuned_load_corpus", "medtuned_render_instruction", "medtuned_parse_output", "medtuned_score")


@dataclass
class PluginStatus:
    name: str  # entry-point (or registration) name
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "tasks": self.tasks,
            "status": "ok" if self.ok else "error",
            "error": self.error,
        }


def _allowed(ep: metadata.EntryPoint) -> bool:
    wanted = os.environ.get(ENV_PLUGINS)
    if wanted is None:
        return True
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    dist = ep.dist.name if ep.dist else ""
    return ep.name in names or dist in names


class Registry:
    """Tasks by name, and the hooks that run them. Build one with :func:`make_registry`."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("medtuned")
        self.pm.add_hookspecs(hookspecs)
        for module in DEFAULT_PLUGINS:
            self.pm.register(importlib.import_module(module), name=module)
        self.tasks: dict[str, TaskInfo] = {}
        self.plugins: list[PluginStatus] = []

    # -- loading ---------------------------------------------------------------------------
    def add_plugin(self, plugin: object, name: str, distribution: str = "", version: str = "") -> PluginStatus:
        """Register one plugin object, validate it, collect its tasks; errors are recorded, not raised."""
        status = PluginStatus(name=name, distribution=distribution or name, version=version)
        self.plugins.append(status)
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:  # pluggy.PluginValidationError, or a duplicate name
            self._drop(plugin, name)
            status.error = f"invalid hooks: {exc}"
            return status
        status.hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        try:
            declared = self._declared_tasks(plugin)
        except Exception as exc:
            self._drop(plugin, name)
            status.error = f"medtuned_register_tasks failed: {type(exc).__name__}: {exc}"
            return status
        problems = []
        missing_hooks = [h for h in TASK_HOOKS if h not in status.hooks]
        if declared and missing_hooks:
            problems.append(f"declares tasks but does not implement {', '.join(missing_hooks)}")
        for info in declared:
            if not isinstance(info, TaskInfo):
                problems.append(f"medtuned_register_tasks returned {type(info).__name__}, not TaskInfo")
            elif info.problems():
                problems.append(f"task {info.name!r}: " + "; ".join(info.problems()))
            elif info.name in self.tasks:
                problems.append(f"task {info.name!r} is already provided by {self.tasks[info.name].package}")
        if problems:
            self._drop(plugin, name)
            status.error = " | ".join(problems)
            return status
        for info in declared:
            self.tasks[info.name] = info.with_provider(status.distribution, status.version)
            status.tasks.append(info.name)
        return status

    def _declared_tasks(self, plugin: object) -> list[TaskInfo]:
        impls = [i for i in self.pm.hook.medtuned_register_tasks.get_hookimpls() if i.plugin is plugin]
        return [info for impl in impls for info in (impl.function() or [])]

    def _drop(self, plugin: object, name: str) -> None:
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)
        elif self.pm.has_plugin(name) and self.pm.get_plugin(name) is plugin:
            self.pm.unregister(name=name)

    def load_entry_points(self) -> None:
        eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: ((e.dist.name if e.dist else ""), e.name))
        seen: set[str] = set()
        for ep in eps:
            dist, version = (ep.dist.name, ep.dist.version) if ep.dist else (ep.name, "")
            if ep.name in seen or not _allowed(ep):
                continue  # the same distribution seen twice on sys.path, or excluded by MEDTUNED_PLUGINS
            seen.add(ep.name)
            try:
                plugin = ep.load()
            except Exception as exc:
                self.plugins.append(PluginStatus(ep.name, dist, version, error=f"import failed: {type(exc).__name__}: {exc}"))
                continue
            self.add_plugin(plugin, ep.name, dist, version)

    # -- lookup ----------------------------------------------------------------------------
    def get(self, name: str) -> TaskInfo:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownTaskError(name, self.tasks) from None

    def select(self, names: Iterable[str] | None = None, family: str | None = None) -> list[TaskInfo]:
        chosen = [self.get(n) for n in names] if names else sorted(self.tasks.values(), key=lambda t: (t.family, t.name))
        return [t for t in chosen if family is None or t.family == family]

    # -- the four task hooks -----------------------------------------------------------------
    def task_dir(self, task: TaskInfo, data_dir: str | Path) -> Path:
        folder = Path(data_dir) / task.data_folder
        if not folder.is_dir():
            raise MissingDataError(task.name, folder, task.how_to_obtain)
        return folder

    def load(self, task: TaskInfo, data_dir: str | Path, split: str, options: dict[str, Any] | None = None) -> Iterable[dict[str, Any]]:
        if split not in task.splits:
            raise PluginError(f"task {task.name!r} has no split {split!r} (it has {', '.join(task.splits)})")
        self.task_dir(task, data_dir)
        opts = {**task.options, **(options or {})}
        out = self.pm.hook.medtuned_load_corpus(task=task, data_dir=Path(data_dir), split=split, options=opts)
        return self._answered(out, task, "medtuned_load_corpus")

    def render(self, task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any]:
        out = self.pm.hook.medtuned_render_instruction(task=task, example=example, instruction=instruction)
        return self._answered(out, task, "medtuned_render_instruction")

    def parse(self, task: TaskInfo, text: str, input: str | None = None, reference: str | None = None) -> Parsed:
        out = self.pm.hook.medtuned_parse_output(task=task, text=text, input=input, reference=reference)
        return self._answered(out, task, "medtuned_parse_output")

    def score(self, task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out = self.pm.hook.medtuned_score(task=task, golds=golds, preds=preds, rows=rows)
        return self._answered(out, task, "medtuned_score")

    def score_units(self, task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores | None:
        """Per-unit statistics of the primary metric, or None when no plugin offers them (optional hook)."""
        return self.pm.hook.medtuned_score_units(task=task, golds=golds, preds=preds, rows=rows)

    @staticmethod
    def _answered(out: Any, task: TaskInfo, hook: str) -> Any:
        if out is None:
            raise PluginError(f"no plugin answered {hook} for task {task.name!r} (provider: {task.package})")
        return out


def make_registry(plugins: Sequence[object] = (), autoload: bool = True) -> Registry:
    """A registry of the installed plugins (unless ``autoload`` is False) plus ``plugins`` given here."""
    registry = Registry()
    if autoload:
        registry.load_entry_points()
    for i, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{i}"
        registry.add_plugin(plugin, name)
    return registry


_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry of installed plugins, built on first use."""
    global _default
    if _default is None:
        _default = make_registry()
    return _default
