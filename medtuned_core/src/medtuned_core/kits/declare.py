"""Declarative tasks: a TOML file (or one Python call) per task, and the plugin that runs them.

A task file names everything :class:`~medtuned_core.types.TaskInfo` holds at the top level, the reader
in a ``[reader]`` table and the kit's own settings in a table named after the kit::

    name = "my-corpus"                  # TaskInfo fields: name, family, description, metric, splits,
    kit = "tagging"                     #   data_folder, templates, labels, citation, license, access,
    family = "ner"                      #   how_to_obtain, sources, options, sample_data
    description = "Anatomical entities in abstracts."
    data_folder = "MyCorpus"            # default: the name
    license = "CC-BY-4.0"
    citation = "Me et al. 2025."
    sample_data = "samples"             # a data root relative to this file
    templates = ["Tag each token ... `token : label`."]

    [reader]
    format = "conll"                    # one of the kit's readers (the first is the default)
    files = ["{split}.tsv"]             # patterns under the data folder; {split} = each name of the split
    separator = "\\t"                   # the other keys are the reader's settings (see the kit)

    [tagging]
    scheme = "iobes"
    types = ["Organ", "Cell"]

``metric`` defaults to the kit's, ``splits`` to all three, ``data_folder`` to the name. Any error — TOML
syntax, an unknown key, a bad value — is one line naming the file, the line and the key.

Three ways to install declared tasks:

* a distribution's entry point names a plugin object built from a folder of task files::

      # src/medtuned_my_corpus/__init__.py
      plugin = plugin_from_folder(Path(__file__).parent / "tasks")
      # pyproject.toml: [project.entry-points."medtuned.plugins"] my-corpus = "medtuned_my_corpus:plugin"

* a folder of task files named by ``MEDTUNED_TASK_PATH`` (``os.pathsep``-separated) or ``medtuned
  --task-path DIR``, with nothing packaged (:func:`task_path_plugins`);
* Python: ``DeclaredTasks([declare(name=..., kit="tagging", ..., scheme="iob2")])``.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..hookspecs import hookimpl
from ..io import read_text, read_toml
from ..types import CANONICAL_SPLITS, Parsed, TaskInfo, UnitScores
from . import DeclarationError, TaskSpec, get_kit

ENV_TASK_PATH = "MEDTUNED_TASK_PATH"
TASK_FILE_GLOB = "*.toml"
_INFO_FIELDS = tuple(f.name for f in fields(TaskInfo) if f.name not in ("package", "version"))
_TOP_KEYS = frozenset({*_INFO_FIELDS, "kit", "reader"})
_TUPLE_FIELDS = ("splits", "templates", "labels", "sources")


def declare(info: TaskInfo | None = None, /, *, kit: str, reader: str = "", files: Sequence[str] = (), origin: str = "", **given: Any) -> TaskSpec:
    """One task, declared in Python: a configured :class:`TaskSpec`.

    Either pass a ready :class:`TaskInfo` as the first argument, or its fields as keywords (``name``,
    ``family``, ``description``, ``templates``... ; ``metric`` defaults to the kit's, ``splits`` to all
    three, ``data_folder`` to the name). Every other keyword is a setting of the kit or its reader
    (``scheme="iobes"``, ``separator="\\t"``). Raises :class:`DeclarationError` naming the bad key.
    """
    chosen = get_kit(kit)
    info_keys = {k: given.pop(k) for k in list(given) if k in _INFO_FIELDS}
    if info is None:
        info = _task_info(info_keys, chosen.default_metric)
    elif info_keys:
        raise DeclarationError(f"give TaskInfo fields either in the TaskInfo or as keywords, not both ({', '.join(info_keys)})")
    spec = TaskSpec(info=info, kit=kit, reader=reader or chosen.readers[0], files=tuple(files), settings=dict(given), origin=origin)
    if spec.reader not in chosen.readers:
        raise DeclarationError(f"the {kit} kit has no reader {spec.reader!r} (it has: {', '.join(chosen.readers)})", key="format")
    spec = spec.configured()
    labels = getattr(spec.config, "labels", None)
    if labels and not info.labels:
        spec = replace(spec, info=replace(info, labels=tuple(labels)))
    problems = spec.info.problems()
    if problems:
        raise DeclarationError("; ".join(problems))
    return spec


def _task_info(values: dict[str, Any], default_metric: str) -> TaskInfo:
    if not values.get("name"):
        raise DeclarationError("every task needs a name", key="name")
    values = dict(values)
    values.setdefault("metric", default_metric)
    values.setdefault("splits", CANONICAL_SPLITS)
    values.setdefault("data_folder", values["name"])
    for key in _TUPLE_FIELDS:
        value = values.get(key, ())
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise DeclarationError(f"must be a list of strings, not {type(value).__name__}", key=key)
        values[key] = tuple(value)
    if not isinstance(values.get("options", {}), dict):
        raise DeclarationError("must be a table of option defaults", key="options")
    for key in ("name", "family", "description", "metric", "data_folder", "citation", "license", "access", "how_to_obtain", "sample_data"):
        if key in values and not isinstance(values[key], str):
            raise DeclarationError(f"must be a string, not {type(values[key]).__name__}", key=key)
    return TaskInfo(**values)


# -- TOML files ------------------------------------------------------------------------------------------


def load_task_file(path: str | Path) -> TaskSpec:
    """The task declared in one TOML file; every error names the file, the line and the key."""
    path = Path(path)
    data = read_toml(path)
    try:
        return _from_table(path, data)
    except DeclarationError as exc:
        raise exc.located(path, _line_of(path, exc.key), data.get("name") if isinstance(data.get("name"), str) else None) from None


def _from_table(path: Path, data: dict[str, Any]) -> TaskSpec:
    kit_name = data.get("kit")
    if not isinstance(kit_name, str):
        raise DeclarationError('every task file names its kit (kit = "tagging", "labels" or "text")', key="kit")
    kit = get_kit(kit_name)
    allowed = _TOP_KEYS | {kit_name}
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DeclarationError(f"unknown key (a task file holds TaskInfo fields, kit, [reader] and [{kit_name}]){hint}", key=key)
    reader = data.get("reader", {})
    section = data.get(kit_name, {})
    for key, table in (("reader", reader), (kit_name, section)):
        if not isinstance(table, dict):
            raise DeclarationError(f"must be a table ([{key}])", key=key)
    reader = dict(reader)
    reader_name = reader.pop("format", "")
    files = reader.pop("files", ())
    if isinstance(files, str):
        files = (files,)
    if not isinstance(reader_name, str) or not isinstance(files, (list, tuple)) or not all(isinstance(f, str) for f in files):
        raise DeclarationError("format must be a string and files a list of file-name patterns", key="files" if reader_name else "format")
    clash = sorted(set(reader) & set(section))
    if clash:
        raise DeclarationError(f"set in both [reader] and [{kit_name}]", key=clash[0])
    # The labels kit's [labels] table shares its name with TaskInfo.labels (a list): the table is the kit's.
    info = {k: v for k, v in data.items() if k in _INFO_FIELDS and not (k == kit_name and isinstance(v, dict))}
    if isinstance(info.get("sample_data"), str) and info["sample_data"]:
        info["sample_data"] = str((path.parent / info["sample_data"]).resolve())
    return declare(kit=kit.name, reader=reader_name, files=files, origin=str(path), **info, **reader, **section)


def _line_of(path: Path, key: str | None) -> int | None:
    """The line a key is set on (the first ``key =``, or a ``[key]`` table header), for messages."""
    if not key:
        return None
    try:
        lines = read_text(path).split("\n")
    except MedTunedError:
        return None
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=|^\s*\[\s*{re.escape(key)}\s*\]")
    return next((n for n, line in enumerate(lines, 1) if pattern.match(line)), None)


def load_task_folder(folder: str | Path) -> list[TaskSpec]:
    """Every task file (``*.toml``) of a folder, in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MedTunedError(f"{folder}: task folder not found" if not folder.exists() else f"{folder}: is a file, expected a folder of task files")
    return [load_task_file(p) for p in sorted(folder.glob(TASK_FILE_GLOB))]


def plugin_from_folder(folder: str | Path) -> DeclaredTasks:
    """A plugin of every task declared in a folder (what a distribution's entry point names)."""
    return DeclaredTasks(load_task_folder(folder), origin=str(folder))


def env_task_paths() -> list[Path]:
    """The folders ``MEDTUNED_TASK_PATH`` names (``os.pathsep``-separated; empty items ignored)."""
    value = os.environ.get(ENV_TASK_PATH, "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def task_path_plugins(paths: Iterable[str | Path]) -> list[tuple[str, DeclaredTasks | MedTunedError]]:
    """``(plugin name, plugin or the error that stopped it)`` for each task folder, to register as plugins.

    A broken folder is reported (its first error) and never stops the others.
    """
    out: list[tuple[str, DeclaredTasks | MedTunedError]] = []
    for folder in paths:
        name = f"task-path:{folder}"
        try:
            out.append((name, plugin_from_folder(folder)))
        except MedTunedError as exc:
            out.append((name, exc))
    return out


# -- the plugin ------------------------------------------------------------------------------------------


class DeclaredTasks:
    """A plugin running declared tasks: every hook answers for its own tasks through their kits.

    Register it like any plugin (an entry point naming the object, ``make_registry([plugin])``). Another
    plugin may still override one hook of these tasks with ``@hookimpl(tryfirst=True)``.
    """

    def __init__(self, specs: Iterable[TaskSpec], origin: str = ""):
        self.origin = origin
        self.specs: dict[str, TaskSpec] = {}
        for spec in specs:
            if spec.name in self.specs:
                raise DeclarationError(f"task {spec.name!r} is declared twice ({self.specs[spec.name].origin} and {spec.origin})", origin=spec.origin)
            self.specs[spec.name] = spec if spec.config is not None else spec.configured()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.specs)})"

    def _spec(self, task: TaskInfo) -> TaskSpec | None:
        return self.specs.get(task.name)

    @hookimpl
    def medtuned_register_tasks(self) -> list[TaskInfo]:
        return [spec.info for spec in self.specs.values()]

    @hookimpl
    def medtuned_load_corpus(self, task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
        spec = self._spec(task)
        if spec is None:
            return None
        return get_kit(spec.kit).load(spec, Path(data_dir) / task.data_folder, split, options or {})

    @hookimpl
    def medtuned_render_instruction(self, task: TaskInfo, example: dict[str, Any], instruction: str) -> dict[str, Any] | None:
        spec = self._spec(task)
        return None if spec is None else get_kit(spec.kit).render(spec, example, instruction)

    @hookimpl
    def medtuned_parse_output(self, task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
        spec = self._spec(task)
        return None if spec is None else get_kit(spec.kit).parse(spec, text, input, reference)

    @hookimpl
    def medtuned_score(self, task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        spec = self._spec(task)
        return None if spec is None else get_kit(spec.kit).score(spec, golds, preds, rows)

    @hookimpl
    def medtuned_score_units(self, task: TaskInfo, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores | None:
        spec = self._spec(task)
        return None if spec is None else get_kit(spec.kit).units(spec, golds, preds, rows)


def spec_of(registry: Any, name: str) -> TaskSpec | None:
    """The declaration behind a registered task, when a :class:`DeclaredTasks` plugin provides it."""
    for plugin in registry.pm.get_plugins():
        if isinstance(plugin, DeclaredTasks) and name in plugin.specs:
            return plugin.specs[name]
    return None


__all__ = [
    "ENV_TASK_PATH",
    "DeclaredTasks",
    "declare",
    "env_task_paths",
    "load_task_file",
    "load_task_folder",
    "plugin_from_folder",
    "spec_of",
    "task_path_plugins",
]
