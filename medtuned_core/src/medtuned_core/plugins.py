"""Plugin discovery, validation and the task registry.

Plugins are found through the ``medtuned.plugins`` entry-point group. ``MEDTUNED_PLUGINS`` restricts
autoloading: unset loads every installed plugin; an empty string loads none (tests, locked-down
installs); a comma-separated list loads only those distributions or entry-point names (a name that
matches nothing installed is reported). A broken plugin is reported with its distribution and cause
and never stops the others from loading.

Isolation rules (docs/plugins.md, "Task-name collisions and the hook-result contract"):

* **Collisions.** When two distributions declare the same task name, neither gets it and both keep
  every other task: the name is unusable (a :class:`TaskConflictError` naming both) until the user
  chooses a provider with ``MEDTUNED_PROVIDERS="task=distribution,..."``. The chosen provider's hooks
  then answer for that task; the other's hooks are never called for it.
* **Hook results.** Every task hook's answer is checked here (types, required keys, finite numbers,
  ``score`` in 0..1, a :class:`~medtuned_core.types.Parsed` from parse hooks). A hook that raises or
  answers outside the contract becomes a :class:`HookError` naming the task, the hook and the plugin.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import pluggy

from . import hookspecs
from .errors import MedTunedError, MissingDataError, PluginError, UnknownTaskError
from .kits.declare import env_task_paths, task_path_plugins
from .types import Parsed, TaskInfo, UnitScores

ENTRY_POINT_GROUP = "medtuned.plugins"
ENV_PLUGINS = "MEDTUNED_PLUGINS"
ENV_PROVIDERS = "MEDTUNED_PROVIDERS"
# Plugins of the core itself, always registered (datasette's DEFAULT_PLUGINS): the built-in model backends.
DEFAULT_PLUGINS = ("medtuned_core.evaluate.builtin_backends",)
TASK_HOOKS = ("medtuned_load_corpus", "medtuned_render_instruction", "medtuned_parse_output", "medtuned_score")
_EXCERPT = 80  # characters of a plugin's exception message quoted in an error line


class TaskConflictError(PluginError):
    """A task name declared by more than one distribution, and no (valid) choice of provider."""

    def __init__(self, name: str, providers: Sequence[str], chosen: str | None = None):
        self.name, self.providers, self.chosen = name, list(providers), chosen
        listed = " and ".join(self.providers)
        if chosen:
            why = f"{ENV_PROVIDERS} chooses {chosen!r} for task {name!r}, which is provided by {listed}"
        else:
            why = f"task {name!r} is provided by both {listed}, so it is disabled"
        super().__init__(f"{why}; choose one with {ENV_PROVIDERS}={name}=DISTRIBUTION (one of {', '.join(self.providers)}), or uninstall one")


class HookError(PluginError):
    """A plugin's task hook raised, or answered outside the hook contract; names the task, hook and plugin."""

    def __init__(self, task: str, hook: str, plugin: str, problem: str):
        self.task, self.hook, self.plugin, self.problem = task, hook, plugin, problem
        super().__init__(f"task {task!r}: {hook} of plugin {plugin} {problem}")


@dataclass
class PluginStatus:
    name: str  # entry-point (or registration) name
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)  # usable tasks this plugin provides
    error: str | None = None
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # task -> the other providers (name disabled)
    set_aside: dict[str, str] = field(default_factory=dict)  # task -> the provider MEDTUNED_PROVIDERS chose instead

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One cell for tables: ok / error, plus conflicts and set-aside tasks."""
        parts = ["ok" if self.ok else f"error: {self.error}"]
        parts += [f"conflict: {task} with {', '.join(others)}" for task, others in self.conflicts.items()]
        parts += [f"{task}: {ENV_PROVIDERS} chose {chosen}" for task, chosen in self.set_aside.items()]
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": self.hooks,
            "tasks": self.tasks,
            "status": "ok" if self.ok else "error",
            "error": self.error,
            "conflicts": self.conflicts,
            "set_aside": self.set_aside,
        }


@dataclass
class _Declared:
    """One task as one plugin declared it."""

    info: TaskInfo
    plugin: object
    status: PluginStatus


def parse_providers(text: str | None) -> tuple[dict[str, str], list[str]]:
    """``MEDTUNED_PROVIDERS`` (``task=distribution,...``) as ``({task: distribution}, problems)``."""
    choices: dict[str, str] = {}
    problems = []
    for item in (text or "").split(","):
        if not item.strip():
            continue
        task, sep, provider = (part.strip() for part in item.partition("="))
        if not sep or not task or not provider:
            problems.append(f"{ENV_PROVIDERS}: {item.strip()!r} is not task=distribution")
            continue
        choices[task] = provider
    return choices, problems


def data_folder_problem(folder: str) -> str | None:
    """Why a task's ``data_folder`` could read outside the data root (None when it is a plain relative path)."""
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(folder)
        if path.is_absolute() or path.anchor or path.drive:
            return f"data_folder {folder!r} must be a relative path inside the data root, not an absolute path"
        if ".." in path.parts:
            return f"data_folder {folder!r} must stay inside the data root (no '..')"
    return None


def _short(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{type(exc).__name__}: {exc.strerror or 'error'}: {exc.filename}"  # the path, whole
    text = " ".join(str(exc).split())
    text = text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _finite_json(value: Any) -> str | None:
    """Why ``value`` is not plain JSON with finite numbers (None when it is)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return "holds a NaN or infinite number"
    except (TypeError, RecursionError) as exc:
        return f"is not JSON ({_short(exc)})"
    return None


def check_score_result(out: Any) -> str | None:
    """Why a score hook's answer breaks the contract ``{"score": 0..1, "metric"?: str, ...JSON details}``."""
    if not isinstance(out, dict):
        return f"returned {type(out).__name__}, expected a dict with 'score'"
    if "score" not in out:
        return f"returned a dict without 'score' (keys: {', '.join(map(str, list(out)[:8])) or 'none'})"
    score = out["score"]
    if isinstance(score, bool) or not isinstance(score, int | float):
        return f"returned score {score!r:.40}, expected a number"
    if not math.isfinite(score):
        return f"returned score {score!r}, expected a finite number"
    if not 0.0 <= score <= 1.0:
        return f"returned score {score!r}, outside 0..1"
    if "metric" in out and not isinstance(out["metric"], str):
        return f"returned metric {out['metric']!r:.40}, expected a string"
    if not all(isinstance(k, str) for k in out):
        return "returned a dict with non-string keys"
    problem = _finite_json(out)
    return f"returned details that {problem}" if problem else None


class Registry:
    """Tasks by name, and the hooks that run them. Build one with :func:`make_registry`."""

    def __init__(self, providers: dict[str, str] | None = None) -> None:
        self.pm = pluggy.PluginManager("medtuned")
        self.pm.add_hookspecs(hookspecs)
        for module in DEFAULT_PLUGINS:
            self.pm.register(importlib.import_module(module), name=module)
        self.tasks: dict[str, TaskInfo] = {}  # the usable tasks
        self.conflicts: dict[str, TaskConflictError] = {}  # disabled names, each with its error
        self.plugins: list[PluginStatus] = []
        self.warnings: list[str] = []  # configuration problems (environment variables naming nothing)
        self.providers = dict(providers or {})
        self._declared: dict[str, list[_Declared]] = {}
        self._status_of: dict[int, PluginStatus] = {}  # id(plugin object) -> its status
        self._callers: dict[tuple[str, str], Any] = {}

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
        names: set[str] = set()
        for info in declared:
            if not isinstance(info, TaskInfo):
                problems.append(f"medtuned_register_tasks returned {type(info).__name__}, not TaskInfo")
                continue
            info_problems = info.problems()
            folder_problem = data_folder_problem(info.data_folder) if info.data_folder else None
            if folder_problem:
                info_problems.append(folder_problem)
            if info_problems:
                problems.append(f"task {info.name!r}: " + "; ".join(info_problems))
            elif info.name in names:
                problems.append(f"task {info.name!r} is declared twice")
            names.add(info.name)
        if problems:
            self._drop(plugin, name)
            status.error = " | ".join(problems)
            return status
        self._status_of[id(plugin)] = status
        for info in declared:
            self._declared.setdefault(info.name, []).append(_Declared(info.with_provider(status.distribution, status.version), plugin, status))
        self._resolve()
        return status

    def distribution_of(self, plugin: object) -> str | None:
        """The distribution that brought ``plugin`` (a registered plugin object), or None for the core's own."""
        status = self._status_of.get(id(plugin))
        return status.distribution if status else None

    def _declared_tasks(self, plugin: object) -> list[TaskInfo]:
        impls = [i for i in self.pm.hook.medtuned_register_tasks.get_hookimpls() if i.plugin is plugin]
        return [info for impl in impls for info in (impl.function() or [])]

    def _drop(self, plugin: object, name: str) -> None:
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)
        elif self.pm.has_plugin(name) and self.pm.get_plugin(name) is plugin:
            self.pm.unregister(name=name)

    def _resolve(self) -> None:
        """Decide who provides each task name: the sole declarer, or the one ``providers`` chooses."""
        self.tasks, self.conflicts, self._callers = {}, {}, {}
        for status in self.plugins:
            status.tasks, status.conflicts, status.set_aside = [], {}, {}
        for name, declared in self._declared.items():
            chosen = self.providers.get(name)
            if chosen is not None:
                winners = [d for d in declared if chosen in (d.status.distribution, d.status.name)]
            else:
                winners = declared if len(declared) == 1 else []
            if len(winners) == 1:
                self.tasks[name] = winners[0].info
                winners[0].status.tasks.append(name)
                for d in declared:
                    if d is not winners[0]:
                        d.status.set_aside[name] = winners[0].status.distribution
                continue
            providers = [d.status.distribution for d in declared]
            self.conflicts[name] = TaskConflictError(name, providers, chosen)
            for d in declared:
                d.status.conflicts[name] = [p for p in providers if p != d.status.distribution]

    def load_entry_points(self, wanted: str | None = None) -> None:
        """Load installed plugins; ``wanted`` is ``MEDTUNED_PLUGINS`` (None: every plugin)."""
        eps = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: ((e.dist.name if e.dist else ""), e.name))
        names = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
        seen: set[tuple[str, str]] = set()
        known: set[str] = set()
        for ep in eps:
            dist, version = (ep.dist.name, ep.dist.version) if ep.dist else (ep.name, "")
            known |= {ep.name, dist}
            if (dist, ep.name) in seen or (names is not None and not names & {ep.name, dist}):
                continue  # the same distribution seen twice on sys.path, or excluded by MEDTUNED_PLUGINS
            seen.add((dist, ep.name))
            # Registered as dist:entry so that two distributions using one entry-point name both load.
            key = f"{dist}:{ep.name}"
            try:
                plugin = ep.load()
            except Exception as exc:
                self.plugins.append(PluginStatus(ep.name, dist, version, error=f"import failed: {type(exc).__name__}: {exc}"))
                continue
            self.add_plugin(plugin, key, dist, version).name = ep.name
        for name in sorted((names or set()) - known):
            close = difflib.get_close_matches(name, sorted(known), n=2, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; installed: {', '.join(sorted(known)) or 'none'}"
            message = f"{ENV_PLUGINS} names {name!r}, but no installed plugin has that distribution or entry-point name{hint}"
            self.warnings.append(message)
            self.plugins.append(PluginStatus(name, name, "", error=f"not installed ({ENV_PLUGINS}){hint}"))

    # -- lookup ----------------------------------------------------------------------------
    def get(self, name: str) -> TaskInfo:
        if name in self.conflicts:
            raise self.conflicts[name]
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownTaskError(name, [*self.tasks, *self.conflicts]) from None

    def select(self, names: Iterable[str] | None = None, family: str | None = None) -> list[TaskInfo]:
        chosen = [self.get(n) for n in names] if names else sorted(self.tasks.values(), key=lambda t: (t.family, t.name))
        return [t for t in chosen if family is None or t.family == family]

    # -- the four task hooks -----------------------------------------------------------------
    def task_dir(self, task: TaskInfo, data_dir: str | Path) -> Path:
        problem = data_folder_problem(task.data_folder)
        if problem:
            raise PluginError(f"task {task.name!r} ({task.package}): {problem}")
        folder = Path(data_dir) / task.data_folder
        if not folder.is_dir():
            raise MissingDataError(task.name, folder, task.how_to_obtain)
        return folder

    def load(self, task: TaskInfo, data_dir: str | Path, split: str, options: dict[str, Any] | None = None) -> Iterable[dict[str, Any]]:
        if split not in task.splits:
            raise PluginError(f"task {task.name!r} has no split {split!r} (it has {', '.join(task.splits)})")
        self.task_dir(task, data_dir)
        opts = {**task.options, **(options or {})}
        hook = "medtuned_load_corpus"
        out = self._call(hook, task, task=task, data_dir=Path(data_dir), split=split, options=opts)
        try:
            examples = iter(out)
        except TypeError:
            raise HookError(task.name, hook, self._provider(task), f"returned {type(out).__name__}, expected an iterable of example dicts") from None
        return self._checked_examples(examples, task, hook)

    def _checked_examples(self, examples: Iterator[Any], task: TaskInfo, hook: str) -> Iterator[dict[str, Any]]:
        n = 0
        while True:
            try:
                example = next(examples)
            except StopIteration:
                return
            except MedTunedError:
                raise
            except Exception as exc:
                raise HookError(task.name, hook, self._culprit(exc, hook, task), f"raised {_short(exc)}") from exc
            n += 1
            if not isinstance(example, dict) or "id" not in example:
                what = "a dict without 'id'" if isinstance(example, dict) else type(example).__name__
                raise HookError(task.name, hook, self._provider(task), f"yielded {what} as example {n}, expected a dict with an 'id'")
            yield example

    def render(self, task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any]:
        hook = "medtuned_render_instruction"
        out = self._call(hook, task, task=task, example=example, instruction=instruction)
        if not isinstance(out, dict) or not isinstance(out.get("input"), str) or not isinstance(out.get("output"), str):
            what = type(out).__name__ if not isinstance(out, dict) else "a dict without string 'input' and 'output'"
            raise HookError(task.name, hook, self._provider(task), f"returned {what} for example {str(example.get('id'))!r:.60}")
        return out

    def parse(self, task: TaskInfo, text: str, input: str | None = None, reference: str | None = None) -> Parsed:
        hook = "medtuned_parse_output"
        out = self._call(hook, task, task=task, text=text, input=input, reference=reference)
        if not isinstance(out, Parsed):
            raise HookError(task.name, hook, self._provider(task), f"returned {type(out).__name__}, expected Parsed")
        if not isinstance(out.ok, bool) or not isinstance(out.diagnostics, dict):
            raise HookError(task.name, hook, self._provider(task), "returned a Parsed whose ok is not a bool or whose diagnostics is not a dict")
        problem = _finite_json(out.value)
        if problem:
            raise HookError(task.name, hook, self._provider(task), f"returned a Parsed value that {problem}")
        return out

    def score(self, task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        hook = "medtuned_score"
        out = self._call(hook, task, task=task, golds=golds, preds=preds, rows=rows)
        problem = check_score_result(out)
        if problem:
            raise HookError(task.name, hook, self._provider(task), problem)
        return out

    def score_units(self, task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores | None:
        """Per-unit statistics of the primary metric, or None when no plugin offers them (optional hook). A hook
        that raises is that task's HookError, like the other hooks (scoring.py checks what it returns)."""
        return self._call("medtuned_score_units", task, optional=True, task=task, golds=golds, preds=preds, rows=rows)

    # -- dispatch ---------------------------------------------------------------------------------
    def _caller(self, hook: str, task: TaskInfo) -> Any:
        """The hook, without the plugins that declared ``task.name`` but are not its provider."""
        key = (hook, task.name)
        if key not in self._callers:
            # The provider is the registry's choice, whatever TaskInfo the caller holds (one built by hand has no package).
            provider = self.tasks[task.name].package if task.name in self.tasks else task.package
            declared = self._declared.get(task.name, [])
            others = [d.plugin for d in declared if d.info.package != provider] if any(d.info.package == provider for d in declared) else []
            self._callers[key] = self.pm.subset_hook_caller(hook, remove_plugins=others) if others else getattr(self.pm.hook, hook)
        return self._callers[key]

    def _call(self, hook: str, info: TaskInfo, optional: bool = False, **kwargs: Any) -> Any:
        """Call ``hook`` for ``info``'s task: a plugin's exception becomes its HookError; no answer is a
        PluginError unless the hook is ``optional`` (then None)."""
        try:
            out = self._caller(hook, info)(**kwargs)
        except MedTunedError:
            raise  # the plugin's own one-line error (a corpus format error, missing data...)
        except Exception as exc:
            raise HookError(info.name, hook, self._culprit(exc, hook, info), f"raised {_short(exc)}") from exc
        if out is None and not optional:
            raise PluginError(f"no plugin answered {hook} for task {info.name!r} (provider: {info.package})")
        return out

    def _provider(self, task: TaskInfo) -> str:
        return task.package or "(unknown)"

    def _culprit(self, exc: BaseException, hook: str, task: TaskInfo) -> str:
        """The distribution whose code raised: the innermost traceback frame in one of the hook's plugins."""
        owners: dict[str, str] = {}
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            module = (getattr(impl.function, "__module__", "") or "").split(".")[0]
            status = self._status_of.get(id(impl.plugin))
            if status is not None and module and module != "medtuned_core":
                owners[module] = status.distribution
        found = None
        tb = exc.__traceback__
        while tb is not None:
            module = str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0]
            found = owners.get(module, found)
            tb = tb.tb_next
        return found or self._provider(task)


def make_registry(
    plugins: Sequence[object] = (), autoload: bool = True, providers: dict[str, str] | None = None, task_paths: Sequence[str | Path] | None = None
) -> Registry:
    """A registry of the installed plugins (unless ``autoload`` is False) plus ``plugins`` given here.

    ``providers`` chooses who provides a task name several plugins declare (default: ``MEDTUNED_PROVIDERS``).
    ``task_paths`` are folders of task files to load as plugins (default, with ``autoload``: ``MEDTUNED_TASK_PATH``).
    """
    if providers is None:
        providers, problems = parse_providers(os.environ.get(ENV_PROVIDERS))
    else:
        problems = []
    registry = Registry(providers)
    registry.warnings += problems
    if autoload:
        registry.load_entry_points(os.environ.get(ENV_PLUGINS))
    for i, plugin in enumerate(plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{i}"
        registry.add_plugin(plugin, name)
    _add_task_paths(registry, env_task_paths() if task_paths is None and autoload else task_paths or ())
    declared = set(registry.tasks) | set(registry.conflicts)
    for task in sorted(set(registry.providers) - declared):
        registry.warnings.append(f"{ENV_PROVIDERS} chooses a provider for {task!r}, but no loaded plugin declares that task")
    return registry


def _add_task_paths(registry: Registry, folders: Sequence[str | Path]) -> None:
    """Each folder of declared task files (kits/declare.py) as one plugin, shown as ``task-path:FOLDER``."""
    for name, plugin in task_path_plugins(folders):
        if isinstance(plugin, Exception):
            registry.plugins.append(PluginStatus(name, name, "", error=str(plugin)))
        else:
            registry.add_plugin(plugin, name, name, "")


_default: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry of installed plugins, built on first use."""
    global _default
    if _default is None:
        _default = make_registry()
    return _default
