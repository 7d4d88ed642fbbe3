"""Mix specs: which task splits go into an instruction dataset, how many rows of each, and which
evaluation splits the result must not leak into.

A spec is a small TOML, YAML or JSON file (format chosen by the file extension)::

    name = "my-mix"
    seed = 42                       # optional; `medtuned build --seed` overrides it

    [[entries]]
    task = "ncbi-disease"           # any installed task, ours or a third party's
    split = "train"                 # default "train"
    take = "all"                    # "all" (default), a row count (50000) or a fraction (0.25)
    target = "train"                # which output file: "train" (default) or "validation"

    [[entries]]
    task = "pmc-llama"
    sources = { medqa_train = 50000, umls = "all" }   # per-source selection, instead of `take`

    [[eval]]                        # leakage guard: no training input may equal one of these inputs
    task = "ncbi-disease"
    split = "validation"

Parsing checks structure only (``load_spec``); names are checked against a registry by the builder.
Errors name the file and, where the format allows, the line of the offending entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CorpusFormatError, MedTunedError, MissingFileError
from ..io import decode, read_bytes

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TARGETS = ("train", "validation")
SPEC_SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_TOP_KEYS = {"name", "description", "seed", "entries", "eval"}
_ENTRY_KEYS = {"task", "split", "take", "sources", "target", "options", "seed", "enabled", "note"}
_EVAL_KEYS = {"task", "split", "options", "note"}


class SpecError(CorpusFormatError):
    """A mix spec is malformed or names something that does not exist; names the file and line."""


@dataclass(frozen=True)
class Take:
    """How many rows to take: all of them, a count, or a fraction of what is available."""

    kind: str  # "all" | "count" | "fraction"
    value: int | float | None = None

    @property
    def needs_count(self) -> bool:
        """Whether choosing rows requires knowing how many there are (a first counting pass)."""
        return self.kind != "all"

    def quota(self, available: int) -> int:
        """Rows to select out of ``available`` (never more than there are)."""
        if self.kind == "all":
            return available
        if self.kind == "count":
            return min(int(self.value), available)
        # Round half up (0.5 of 3 rows is 2); Python's round() would round half to even.
        return min(int(float(self.value) * available + 0.5), available)

    def requested(self, available: int) -> int | None:
        """The number the spec asked for, where it names one (a count or a fraction of ``available``)."""
        return None if self.kind == "all" else (int(self.value) if self.kind == "count" else self.quota(available))

    def to_json(self) -> str | int | float:
        return "all" if self.kind == "all" else self.value


ALL = Take("all")


class _Placed:
    """What a spec item written at ``file``/``line`` (its ``task``, ``split`` and ``what``) says in messages."""

    @property
    def label(self) -> str:
        return f"{self.task}/{self.split}"

    @property
    def where(self) -> str:
        return _where(self.file, self.line, self.what)

    def error(self, message: str) -> SpecError:
        return SpecError(self.file, self.line, f"{self.what}: {message}")


@dataclass(frozen=True)
class MixEntry(_Placed):
    """One task split in the mix."""

    task: str
    split: str = "train"
    take: Take = ALL
    sources: tuple[tuple[str, Take], ...] = ()  # per-source selection, in spec order; empty = the whole task
    target: str = "train"
    options: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # sampling seed for this entry only; None = the build seed
    enabled: bool = True
    file: str = ""  # where the entry was written, for messages: file name, 1-based line (if known), "entries[3] (task)"
    line: int | None = None
    what: str = ""

    @property
    def needs_count(self) -> bool:
        return any(t.needs_count for _, t in self.sources) if self.sources else self.take.needs_count

    def options_key(self) -> str:
        """Canonical text of the options, so that two entries differing only in options stay apart."""
        return json.dumps(self.options, sort_keys=True, ensure_ascii=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "split": self.split, "target": self.target}
        if self.sources:
            out["sources"] = {name: take.to_json() for name, take in self.sources}
        else:
            out["take"] = self.take.to_json()
        if self.options:
            out["options"] = dict(sorted(self.options.items()))
        if self.seed is not None:
            out["seed"] = self.seed
        if not self.enabled:
            out["enabled"] = False
        return out


@dataclass(frozen=True)
class EvalSplit(_Placed):
    """An evaluation split whose inputs no training row may repeat."""

    task: str
    split: str
    options: dict[str, Any] = field(default_factory=dict)
    file: str = ""
    line: int | None = None
    what: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "split": self.split}
        if self.options:
            out["options"] = dict(sorted(self.options.items()))
        return out


@dataclass(frozen=True)
class MixSpec:
    name: str
    description: str
    seed: int | None
    entries: tuple[MixEntry, ...]
    evals: tuple[EvalSplit, ...]
    origin: str  # a file name or "preset:NAME", never a full path (it goes into the manifest)
    sha256: str  # of the spec file's bytes

    @property
    def active(self) -> tuple[MixEntry, ...]:
        return tuple(e for e in self.entries if e.enabled)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "entries": [e.to_json() for e in self.entries],
            "eval": [e.to_json() for e in self.evals],
        }


# -- reading files --------------------------------------------------------------------------------


def load_spec(path: str | Path) -> MixSpec:
    """Read and check a spec file (TOML, YAML or JSON by extension)."""
    path = Path(path)
    fmt = SPEC_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise MedTunedError(f"{path}: a mix spec must end in {', '.join(SPEC_SUFFIXES)}")
    try:
        raw = read_bytes(path)  # the I/O layer: a folder, an unreadable file... are one-line errors
    except MissingFileError:
        raise MedTunedError(f"{path}: mix spec not found") from None
    return parse_spec_text(raw, fmt, str(path), origin=path.name)


def parse_spec_text(raw: bytes, fmt: str, shown_as: str, origin: str) -> MixSpec:
    """Parse spec text; ``shown_as`` names the file in errors, ``origin`` is what the manifest records."""
    text = decode(shown_as, raw)  # the I/O layer's rules: BOM, NUL = binary, not UTF-8 names its line
    data = _decode(text, fmt, shown_as)
    lines = _entry_lines(text, fmt)
    return parse_spec(data, shown_as, origin, hashlib.sha256(raw).hexdigest(), lines)


def _decode(text: str, fmt: str, shown_as: str) -> Any:
    if fmt == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"line (\d+)", str(exc))
            raise SpecError(shown_as, int(match.group(1)) if match else None, f"invalid TOML ({exc})") from None
    if fmt == "yaml":
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            raise SpecError(shown_as, mark.line + 1 if mark else None, f"invalid YAML ({problem})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(shown_as, exc.lineno, f"invalid JSON ({exc.msg})") from None


def _entry_lines(text: str, fmt: str) -> dict[str, list[int]]:
    """1-based start lines of each ``entries`` / ``eval`` item, where the format lets us find them."""
    out: dict[str, list[int]] = {}
    if fmt == "toml":
        for key in ("entries", "eval"):
            header = re.compile(rf"^\s*\[\[\s*{key}\s*\]\]")
            out[key] = [i for i, line in enumerate(text.splitlines(), 1) if header.match(line)]
    elif fmt == "yaml":
        import yaml

        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return out
        if isinstance(root, yaml.MappingNode):
            for key_node, value_node in root.value:
                if key_node.value in ("entries", "eval") and isinstance(value_node, yaml.SequenceNode):
                    out[key_node.value] = [item.start_mark.line + 1 for item in value_node.value]
    return out


# -- checking structure ---------------------------------------------------------------------------


def parse_spec(data: Any, shown_as: str, origin: str, sha256: str = "", lines: Mapping[str, list[int]] | None = None) -> MixSpec:
    """Build a :class:`MixSpec` from decoded data, or raise :class:`SpecError` naming what is wrong."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise SpecError(shown_as, 1, f"expected a table/mapping at the top level, found {_kind(data)}")
    _no_unknown_keys(data, _TOP_KEYS, shown_as, None, "the top level")
    name = _opt_str(data, "name", shown_as, None, "the top level") or Path(origin).stem.removeprefix("preset:")
    description = _opt_str(data, "description", shown_as, None, "the top level") or ""
    seed = _opt_int(data.get("seed"), shown_as, None, "seed")
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise SpecError(shown_as, None, "needs a non-empty list `entries` (TOML: one [[entries]] table per task split)")
    entries = tuple(_entry(item, i, shown_as, _line(lines, "entries", i, len(raw_entries))) for i, item in enumerate(raw_entries))
    raw_evals = data.get("eval", [])
    if not isinstance(raw_evals, list):
        raise SpecError(shown_as, None, f"`eval` must be a list of {{task, split}} tables, found {_kind(raw_evals)}")
    evals = tuple(_eval(item, i, shown_as, _line(lines, "eval", i, len(raw_evals))) for i, item in enumerate(raw_evals))
    _no_duplicates(entries, evals, shown_as)
    return MixSpec(name=name, description=description, seed=seed, entries=entries, evals=evals, origin=origin, sha256=sha256)


def _line(lines: Mapping[str, list[int]], key: str, i: int, n: int) -> int | None:
    found = lines.get(key, [])
    return found[i] if len(found) == n else None  # counts disagree (inline arrays): do not guess


def _where(shown_as: str, line: int | None, what: str) -> str:
    return f"{shown_as}:{line}: {what}" if line is not None else f"{shown_as}: {what}"


def _fail(shown_as: str, line: int | None, what: str, message: str) -> SpecError:
    return SpecError(shown_as, line, f"{what}: {message}")


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _no_unknown_keys(item: dict[str, Any], allowed: set[str], shown_as: str, line: int | None, what: str) -> None:
    import difflib

    for key in item:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=2)
            hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else f" (allowed: {', '.join(sorted(allowed))})"
            raise _fail(shown_as, line, what, f"unknown key {key!r}{hint}")


def _opt_str(item: dict[str, Any], key: str, shown_as: str, line: int | None, what: str, default: str | None = None) -> str | None:
    value = item.get(key, default)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _fail(shown_as, line, what, f"`{key}` must be a non-empty string, found {_kind(value)}")
    return value


def _opt_int(value: Any, shown_as: str, line: int | None, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(shown_as, line, what, f"must be an integer, found {_kind(value)}")
    return value


def parse_take(value: Any) -> Take:
    """``"all"``, a non-negative integer count, or a fraction in (0, 1]; raises ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() == "all":
        return ALL
    if isinstance(value, bool):
        raise ValueError("a boolean is not a row count")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a count must be >= 0, got {value}")
        return Take("count", value)
    if isinstance(value, float):
        if not 0.0 < value <= 1.0:
            raise ValueError(f"a fraction must be in (0, 1], got {value} (write a row count as an integer)")
        return Take("fraction", value)
    raise ValueError(f'expected "all", a row count or a fraction in (0, 1], found {_kind(value)} {value!r}')


def _entry(item: Any, i: int, shown_as: str, line: int | None) -> MixEntry:
    what = f"entries[{i}]"
    if not isinstance(item, dict):
        raise _fail(shown_as, line, what, f"expected a table, found {_kind(item)}")
    task = item.get("task")
    if isinstance(task, str) and task.strip():
        what = f"entries[{i}] ({task})"
    _no_unknown_keys(item, _ENTRY_KEYS, shown_as, line, what)
    task = _opt_str(item, "task", shown_as, line, what)
    if task is None:
        raise _fail(shown_as, line, what, "`task` is required")
    split = _opt_str(item, "split", shown_as, line, what, "train")
    target = _opt_str(item, "target", shown_as, line, what, "train")
    if target not in TARGETS:
        raise _fail(shown_as, line, what, f"`target` must be one of {', '.join(TARGETS)}, got {target!r}")
    if "sources" in item and "take" in item:
        raise _fail(shown_as, line, what, "give either `take` (the whole task) or `sources` (per source), not both")
    take = ALL
    if "take" in item:
        try:
            take = parse_take(item["take"])
        except ValueError as exc:
            raise _fail(shown_as, line, what, f"`take`: {exc}") from None
    sources: list[tuple[str, Take]] = []
    if "sources" in item:
        raw = item["sources"]
        if not isinstance(raw, dict) or not raw:
            raise _fail(shown_as, line, what, "`sources` must be a non-empty table of source name -> take")
        for name, value in raw.items():
            try:
                sources.append((str(name), parse_take(value)))
            except ValueError as exc:
                raise _fail(shown_as, line, what, f"`sources.{name}`: {exc}") from None
    options = item.get("options", {})
    if not isinstance(options, dict):
        raise _fail(shown_as, line, what, f"`options` must be a table, found {_kind(options)}")
    seed = _opt_int(item.get("seed"), shown_as, line, f"{what}: `seed`")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(shown_as, line, what, f"`enabled` must be true or false, found {_kind(enabled)}")
    _opt_str(item, "note", shown_as, line, what)
    return MixEntry(
        task=task,
        split=split,
        take=take,
        sources=tuple(sources),
        target=target,
        options=dict(options),
        seed=seed,
        enabled=enabled,
        file=shown_as,
        line=line,
        what=what,
    )


def _eval(item: Any, i: int, shown_as: str, line: int | None) -> EvalSplit:
    what = f"eval[{i}]"
    if not isinstance(item, dict):
        raise _fail(shown_as, line, what, f"expected a table with `task` and `split`, found {_kind(item)}")
    _no_unknown_keys(item, _EVAL_KEYS, shown_as, line, what)
    task = _opt_str(item, "task", shown_as, line, what)
    split = _opt_str(item, "split", shown_as, line, what)
    if task is None or split is None:
        raise _fail(shown_as, line, what, "`task` and `split` are both required")
    options = item.get("options", {})
    if not isinstance(options, dict):
        raise _fail(shown_as, line, what, f"`options` must be a table, found {_kind(options)}")
    _opt_str(item, "note", shown_as, line, what)
    return EvalSplit(task=task, split=split, options=dict(options), file=shown_as, line=line, what=f"{what} ({task}/{split})")


def _no_duplicates(entries: tuple[MixEntry, ...], evals: tuple[EvalSplit, ...], shown_as: str) -> None:
    # The same split listed twice would put its rows in the output twice (or in both train and
    # validation); per-source counts belong in one entry's `sources` table instead.
    seen: dict[tuple[str, str, str], MixEntry] = {}
    for entry in entries:
        key = (entry.task, entry.split, entry.options_key())
        if key in seen and entry.enabled and seen[key].enabled:
            raise SpecError(
                shown_as, None, f"{entry.label} is listed twice ({seen[key].where} and {entry.where}); merge them (use `sources` for per-source counts)"
            )
        seen.setdefault(key, entry)
    seen_eval: set[tuple[str, str, str]] = set()
    for ev in evals:
        key = (ev.task, ev.split, json.dumps(ev.options, sort_keys=True))
        if key in seen_eval:
            raise SpecError(shown_as, None, f"eval split {ev.label} is listed twice")
        seen_eval.add(key)


# -- presets ----------------------------------------------------------------------------------------


def list_presets() -> list[str]:
    """Names of the presets shipped with the builder."""
    folder = resources.files(__package__).joinpath("presets")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> MixSpec:
    """A shipped preset by name (``paper``, ``paper-ablation``)."""
    names = list_presets()
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise MedTunedError(f"unknown preset {name!r}.{hint} Presets: {', '.join(names)}")
    raw = resources.files(__package__).joinpath("presets", f"{name}.toml").read_bytes()
    return parse_spec_text(raw, "toml", f"preset {name} ({name}.toml)", origin=f"preset:{name}")
