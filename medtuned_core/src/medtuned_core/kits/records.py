"""Record readers shared by the labels and text kits: one example per JSON Lines line, table row or JSON record.

A declaration's ``[reader]`` table picks one (``format``) and the file-name patterns (``files``, where
``{split}`` stands for each name of the split):

=========  ====================================================  ===========================================
format     what a file holds                                     reader keys
=========  ====================================================  ===========================================
``jsonl``  one JSON object per line (the default)                ``id``
``tsv``    tab-separated rows, a header row first                ``id``, ``header``, ``columns``, ``quoting``
``csv``    comma-separated rows (quoted fields), a header row    ``id``, ``header``, ``columns``
``json``   one JSON array of objects (streamed), or one object   ``id``
           mapping each id to its record
``python`` whatever a function of yours reads                    ``function``
=========  ====================================================  ===========================================

* ``id``: the field holding the example id (default ``"id"``); a record without it is numbered by its line
  (JSON arrays: by its record number). Ids must be unique in a file.
* ``header`` (default true) / ``columns``: a table without a header row names its columns here.
* ``quoting``: read a TSV with CSV quoting (a field holding a tab or a quote is quoted, as Python's ``csv``
  writes it); CSV always is.
* ``function = "package.module:function"``: called as ``function(folder, split, options)``, it returns the
  examples (dicts with a unique str ``id``) in corpus order, raising ``CorpusFormatError`` on bad input. This
  is the escape hatch for corpora no table or JSON layout describes (fold folders, split replays...).

All files are read through :mod:`medtuned_core.io` (one-line errors naming the file and line, for missing or
unreadable files, folders, binary data, invalid UTF-8...); a data file holding no record is an error too.
"""

from __future__ import annotations

import difflib
import importlib
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import io
from ..corpus import split_file
from ..errors import CorpusFormatError
from ..jsonstream import first_char, iter_json_array, iter_json_object
from . import DeclarationError, TaskSpec

FORMATS = ("jsonl", "tsv", "csv", "json", "python")
DEFAULT_FILES = {"jsonl": ("{split}.jsonl",), "tsv": ("{split}.tsv",), "csv": ("{split}.csv",), "json": ("{split}.json",), "python": ()}
READER_KEYS = ("id", "header", "columns", "quoting", "function")


@dataclass(frozen=True)
class Reader:
    """A checked ``[reader]`` table (see the module docstring)."""

    format: str
    files: tuple[str, ...]
    id: str = "id"
    header: bool = True
    columns: tuple[str, ...] = ()
    quoting: bool = False
    function: str = ""

    @property
    def unit(self) -> str:
        return "record" if self.format == "json" else "line"


def _typed(settings: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
    value = settings.get(key, default)
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise DeclarationError(f"must be {what}, not {value!r:.60}", key=key)
    return value


def reader_from(spec: TaskSpec) -> Reader:
    """The spec's reader settings, checked (a bad value raises DeclarationError naming the key)."""
    settings = spec.settings
    fmt = spec.reader
    if fmt not in FORMATS:
        raise DeclarationError(f"unknown reader {fmt!r} (known: {', '.join(FORMATS)})", key="format")
    columns = _typed(settings, "columns", (list, tuple), (), "a list of column names")
    function = _typed(settings, "function", str, "", 'a "package.module:function" name')
    if fmt == "python" and function.count(":") != 1:
        raise DeclarationError('the python reader needs function = "package.module:function"', key="function")
    header = _typed(settings, "header", bool, not columns, "true or false")
    if fmt in ("tsv", "csv") and not header and not columns:
        raise DeclarationError("a table without a header row needs its columns named (columns = [...])", key="columns")
    return Reader(
        format=fmt,
        files=spec.files or DEFAULT_FILES[fmt],
        id=_typed(settings, "id", str, "id", "a field name"),
        header=header,
        columns=tuple(str(c) for c in columns),
        quoting=_typed(settings, "quoting", bool, fmt == "csv", "true or false"),
        function=function,
    )


def check_settings(settings: Mapping[str, Any], known: tuple[str, ...], kit: str) -> None:
    """Refuse a setting that is neither the kit's nor a reader key (a did-you-mean when one is close)."""
    for key in settings:
        if key not in known and key not in READER_KEYS:
            close = difflib.get_close_matches(key, [*known, *READER_KEYS], n=1, cutoff=0.6)
            raise DeclarationError(f"not a setting of the {kit} kit{f'; did you mean {close[0]!r}?' if close else ''}", key=key)


def python_loader(reader: Reader) -> Callable[..., Iterable[dict[str, Any]]]:
    return import_function(reader.function, lambda message: DeclarationError(message, key="function"))


def import_function(function: str, error: Callable[[str], Exception]) -> Callable[..., Any]:
    """``"package.module:function"`` imported; else ``error(message)`` is raised (a kit names the file or key)."""
    module, _, attr = function.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise error(f"cannot load the reader function {function!r} ({type(exc).__name__}: {exc})") from None


def split_path(spec: TaskSpec, reader: Reader, folder: Path, split: str) -> Path:
    """The split's file under the task's data folder (a missing one raises MissingSplitError, listing what was tried)."""
    return split_file(spec.name, folder, split, reader.files)


def _raw(reader: Reader, path: Path) -> Iterator[tuple[int, str | None, Any]]:
    """``(line or record number, key, raw record)``; the key is the member name of a JSON object file."""
    if reader.format == "jsonl":
        for lineno, obj in io.read_jsonl(path):
            yield lineno, None, obj
    elif reader.format == "json":
        records = iter_json_object(path) if first_char(path) == "{" else iter_json_array(path)
        for rec in records:
            yield rec.number, rec.key, rec.value
    else:
        delimiter = "\t" if reader.format == "tsv" else ","
        fieldnames = None if reader.header else reader.columns
        for lineno, row in io.read_records(path, delimiter, fieldnames=fieldnames, quoting=reader.quoting):
            yield lineno, None, row


def read_records(reader: Reader, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line or record number, record with a unique str "id")`` for each record of a data file."""
    first: dict[str, int] = {}
    for where, key, obj in _raw(reader, path):
        if not isinstance(obj, dict):
            raise CorpusFormatError(path, where, f"expected an object, found {type(obj).__name__}", unit=reader.unit)
        raw_id = obj.get(reader.id, key if key is not None else where)
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id).strip():
            raise CorpusFormatError(path, where, f"{reader.id} must be a non-empty string or number, found {raw_id!r:.40}", unit=reader.unit)
        example_id = str(raw_id)
        if example_id in first:
            raise CorpusFormatError(path, where, f"duplicate {reader.id} {example_id!r} (first at {reader.unit} {first[example_id]})", unit=reader.unit)
        first[example_id] = where
        yield where, {**obj, "id": example_id}
    if not first:
        raise CorpusFormatError(path, None, "holds no records (an empty data file)")


def field(path: Path, where: int, unit: str, record: Mapping[str, Any], name: str, kind: type | tuple[type, ...] = str, line: int | None = None) -> Any:
    """``record[name]``, which must exist and be of ``kind``; else an error naming the file and line (or record,
    and then the ``line`` it starts on when given)."""
    at = f" (line {line})" if line is not None else ""
    if name not in record:
        raise CorpusFormatError(path, where, f"missing field {name!r}{at}", unit=unit)
    value = record[name]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CorpusFormatError(path, where, f"field {name!r} must be {want}, found {type(value).__name__}{at}", unit=unit)
    return value


@lru_cache(maxsize=64)
def template_fields(template: str) -> tuple[str, ...]:
    """The ``{field}`` names an input template fills from a record (parsed once per template, not per record)."""
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def require_text(path: Path, where: int, unit: str, record: Mapping[str, Any], names: Iterable[str]) -> None:
    """Every field in ``names`` present, a string and not blank; else an error naming the file and line."""
    for name in names:
        if not field(path, where, unit, record, name).strip():
            raise CorpusFormatError(path, where, f"field {name!r} is empty", unit=unit)
