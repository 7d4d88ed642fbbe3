"""THE input layer: every corpus loader and every CLI input file is read through these functions.

Each function checks the path first (it exists, it is a file and not a folder — or the reverse —, it can
be read), decodes text (UTF-8 by default; a UTF-8 BOM is dropped, a UTF-16 BOM is honoured), rejects
binary data (a NUL byte), turns CRLF endings into LF and numbers lines from 1. Every failure becomes one
:class:`~medtuned_core.errors.CorpusFormatError` line ``path[:line]: message`` (a missing file is a
:class:`~medtuned_core.errors.MissingFileError`, which is also a ``FileNotFoundError``), and a message
quotes at most :data:`EXCERPT_CHARS` characters of the offending text (see :func:`excerpt`): a corrupt
5 MB line costs one short line of stderr.

What is here, by the shape of the file:

* text: :func:`read_text` (whole file), :func:`iter_lines` (streaming, numbered);
* JSON: :func:`read_json` (one document), :func:`read_jsonl` (one object per line);
* tables: :func:`read_rows` (TSV/CSV/whitespace columns), :func:`read_records` (with a header row);
* TOML: :func:`read_toml`;
* ``datasets.save_to_disk`` folders: :func:`read_datasets_folder`;
* anything else that streams (a JSON array decoded record by record, ijson...): :func:`text_stream` or
  :func:`binary_stream` give a checked handle and translate what goes wrong inside the ``with`` block.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .errors import CorpusFormatError, MissingFileError

EXCERPT_CHARS = 60
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_TOML_WHERE = re.compile(r"\(at line (\d+), column \d+\)")


def excerpt(text: str | bytes, limit: int = EXCERPT_CHARS) -> str:
    """A short quotable form of ``text``: its repr, cut to ``limit`` characters with the full length said."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


# -- paths ----------------------------------------------------------------------------------------------


def check_file(path: str | Path) -> Path:
    """``path`` as a Path, after checking it is an existing file (not a folder)."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path)
    if path.is_dir():
        raise CorpusFormatError(path, None, "is a folder, expected a file")
    if not path.is_file():
        raise CorpusFormatError(path, None, "is not a regular file")
    return path


def check_dir(path: str | Path) -> Path:
    """``path`` as a Path, after checking it is an existing folder (not a file)."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(path, "folder not found")
    if not path.is_dir():
        raise CorpusFormatError(path, None, "is a file, expected a folder")
    return path


def _os_error(path: Path, exc: OSError) -> CorpusFormatError:
    if isinstance(exc, FileNotFoundError):
        return MissingFileError(path)
    if isinstance(exc, PermissionError):
        return CorpusFormatError(path, None, "permission denied (cannot read it)")
    if isinstance(exc, IsADirectoryError):
        return CorpusFormatError(path, None, "is a folder, expected a file")
    return CorpusFormatError(path, None, f"cannot read ({exc.strerror or type(exc).__name__})")


def read_bytes(path: str | Path) -> bytes:
    """The raw content of a file, with the path checks and one-line errors of this module."""
    path = check_file(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _os_error(path, exc) from None


# -- text -----------------------------------------------------------------------------------------------


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _binary(path: Path, data: bytes, nul: int) -> CorpusFormatError:
    return CorpusFormatError(path, _line_at(data, nul), "binary data (a NUL byte), not a text file")


def decode(path: str | Path, data: bytes, encoding: str = "utf-8") -> str:
    """Bytes read from ``path`` as text (BOM, NUL and encoding rules of this module; CRLF kept)."""
    path = Path(path)
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorpusFormatError(path, None, f"not valid UTF-16 ({exc.reason})") from None
        if "\x00" in text:
            raise CorpusFormatError(path, text.count("\n", 0, text.index("\x00")) + 1, "binary data (a NUL character), not a text file")
        return text
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _binary(path, data, nul)
    utf8 = codecs.lookup(encoding).name == "utf-8"
    if utf8 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if utf8 else encoding
        raise CorpusFormatError(path, _line_at(data, exc.start), f"not {name} ({exc.reason})") from None


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """A whole text file, decoded, with CRLF line endings turned into LF (a lone CR is kept)."""
    path = Path(path)
    text = decode(path, read_bytes(path), encoding)
    return text.replace("\r\n", "\n") if "\r" in text else text


def iter_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """``(1-based line number, line without its line ending)``, streamed; errors name the line.

    Lines end at LF only (a CR before it is dropped; a lone CR stays inside the line), so line
    numbers are the ones an editor shows.
    """
    path = check_file(path)
    with binary_stream(path) as fh:
        head = fh.read(4)
        fh.seek(0)
        if head.startswith(_UTF16_BOMS) or codecs.lookup(encoding).name != "utf-8":
            # Rare: decode the whole file at once rather than per line in a multi-byte encoding.
            text = read_text(path, encoding)
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            yield from enumerate(lines, 1)
            return
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            if b"\x00" in raw:
                raise CorpusFormatError(path, lineno, "binary data (a NUL byte), not a text file")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorpusFormatError(path, lineno, f"not UTF-8 ({exc.reason})") from None
            if line.endswith("\n"):
                line = line[:-2] if line.endswith("\r\n") else line[:-1]
            yield lineno, line


# -- streams (the hook point for streaming parsers) ------------------------------------------------------


@contextlib.contextmanager
def binary_stream(path: str | Path) -> Iterator[IO[bytes]]:
    """A checked binary handle; an OSError raised inside the block becomes the one-line error."""
    path = check_file(path)
    try:
        with path.open("rb") as fh:
            yield fh
    except OSError as exc:
        raise _os_error(path, exc) from None


@contextlib.contextmanager
def text_stream(path: str | Path, encoding: str = "utf-8") -> Iterator[IO[str]]:
    """A checked text handle for parsers that stream (a JSON array decoded one record at a time, ijson...).

    A UTF-8 BOM is skipped and a NUL byte in the first 8 KiB is refused up front; a decoding error or an
    OSError raised inside the ``with`` block becomes the one-line error, naming the line of the first
    undecodable byte. Parse errors of the consumer's own format are the consumer's to report (it knows
    the line it reached).
    """
    path = check_file(path)
    with binary_stream(path) as raw:
        head = raw.read(8192)
        raw.seek(0)
        if head.startswith(_UTF16_BOMS):
            encoding = "utf-16"
        elif b"\x00" in head:
            raise _binary(path, head, head.index(b"\x00"))
        elif codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"
        fh = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            yield fh
        except UnicodeDecodeError as exc:
            raise CorpusFormatError(path, _first_bad_line(path, encoding), f"not {encoding.upper().removesuffix('-SIG')} ({exc.reason})") from None
        finally:
            fh.detach()


def _first_bad_line(path: Path, encoding: str) -> int | None:
    if not encoding.startswith("utf-8"):
        return None
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return None


# -- JSON, JSONL, TOML ----------------------------------------------------------------------------------


def read_json(path: str | Path, encoding: str = "utf-8") -> Any:
    """One JSON document; a syntax error names its line."""
    path = Path(path)
    text = read_text(path, encoding)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(path, exc.lineno, f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise CorpusFormatError(path, None, "invalid JSON (nested too deeply)") from None


def read_jsonl(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; a bad line raises with its number.

    A file that is one JSON array instead is named as such (a common mix-up), as is a line that holds
    something other than an object.
    """
    path = Path(path)
    for lineno, line in iter_lines(path, encoding):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if lineno == 1 and line.lstrip().startswith("["):
                raise CorpusFormatError(path, 1, "expected JSONL (one object per line), found a JSON array") from None
            raise CorpusFormatError(path, lineno, f"invalid JSON ({exc.msg} at column {exc.colno}): {excerpt(line)}") from None
        except RecursionError:
            raise CorpusFormatError(path, lineno, "invalid JSON (nested too deeply)") from None
        if isinstance(obj, list) and lineno == 1:
            raise CorpusFormatError(path, 1, "expected JSONL (one object per line), found a JSON array")
        if not isinstance(obj, dict):
            raise CorpusFormatError(path, lineno, f"expected a JSON object, found {type(obj).__name__}")
        yield lineno, obj


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML document; a syntax error names its line."""
    import tomllib

    path = Path(path)
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_WHERE.search(str(exc))
        line = int(where.group(1)) if where else None
        raise CorpusFormatError(path, line, f"invalid TOML ({_TOML_WHERE.sub('', str(exc)).strip()})") from None


# -- tables ---------------------------------------------------------------------------------------------


def read_rows(
    path: str | Path,
    delimiter: str | None = "\t",
    *,
    quoting: bool = False,
    comment: str | None = None,
    skip_blank: bool = True,
    encoding: str = "utf-8",
) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` per row of a delimited text file.

    ``delimiter=None`` splits on runs of whitespace (CoNLL). Without ``quoting`` every line is one row
    split on the delimiter as it is (TSV corpora hold bare quote characters in tokens); with ``quoting``
    the file is read as CSV (``"`` quotes, a quoted field may span lines; the number is the row's first
    line). Lines starting with ``comment`` are skipped; blank lines are skipped unless ``skip_blank`` is
    False (then they come as ``[]``).
    """
    path = Path(path)
    if not quoting:
        for lineno, line in iter_lines(path, encoding):
            if comment and line.startswith(comment):
                continue
            if not line.strip():
                if not skip_blank:
                    yield lineno, []
                continue
            yield lineno, line.split(delimiter)
        return
    if delimiter is None:
        raise ValueError("quoting needs a delimiter")
    reader = csv.reader(io.StringIO(read_text(path, encoding), newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for fields in reader:
            lineno, start = start, reader.line_num + 1
            if comment and fields and fields[0].startswith(comment):
                continue
            if not any(f.strip() for f in fields):
                if not skip_blank:
                    yield lineno, []
                continue
            yield lineno, fields
    except csv.Error as exc:
        raise CorpusFormatError(path, start, f"malformed CSV ({exc})") from None


def read_records(
    path: str | Path,
    delimiter: str = "\t",
    *,
    fieldnames: Sequence[str] | None = None,
    required: Sequence[str] = (),
    quoting: bool = False,
    encoding: str = "utf-8",
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, {column: value})`` per row; the first row is the header unless ``fieldnames`` is given.

    Every row must have as many fields as the header, and the header must hold every ``required`` column.
    """
    path = Path(path)
    rows = read_rows(path, delimiter, quoting=quoting, encoding=encoding)
    names = list(fieldnames) if fieldnames is not None else None
    for lineno, fields in rows:
        if names is None:
            names = [f.strip() for f in fields]
            missing = [c for c in required if c not in names]
            if missing:
                raise CorpusFormatError(path, lineno, f"header lacks column(s) {', '.join(missing)}; found {excerpt(delimiter.join(names))}")
            continue
        if len(fields) != len(names):
            raise CorpusFormatError(path, lineno, f"expected {len(names)} columns ({', '.join(names)}), found {len(fields)}: {excerpt(delimiter.join(fields))}")
        yield lineno, dict(zip(names, fields, strict=True))
    if names is None and fieldnames is None:
        raise CorpusFormatError(path, None, "empty file (no header row)")


# -- datasets folders -----------------------------------------------------------------------------------


def read_datasets_folder(path: str | Path, split: str | None = None, extra: str = "datasets") -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The rows of a ``datasets.save_to_disk`` folder (a DatasetDict's ``split``, or one Dataset) and the
    label names of every ``ClassLabel`` column (``{column: names}``, for integer-coded tags or labels).

    ``datasets`` is imported only here; ``extra`` names what to ``pip install`` when it is missing.
    """
    path = check_dir(path)
    try:
        import datasets  # heavy: only when such a folder is read
    except ImportError:
        raise CorpusFormatError(path, None, f"a datasets save_to_disk folder needs the 'datasets' package: pip install '{extra}'") from None
    try:
        loaded = datasets.load_from_disk(str(path))
        dataset = loaded[split] if split is not None else loaded
        if isinstance(dataset, datasets.DatasetDict):
            raise CorpusFormatError(path, None, f"is a DatasetDict ({', '.join(dataset)}); name a split")
        rows = dataset.to_list()
    except CorpusFormatError:
        raise
    except KeyError:
        raise CorpusFormatError(path, None, f"the DatasetDict has no split {split!r}") from None
    except Exception as exc:  # arrow, json and file errors of a damaged folder
        raise CorpusFormatError(path, None, f"not a readable datasets folder ({type(exc).__name__}: {excerpt(str(exc))})") from None
    names: dict[str, list[str]] = {}
    for column, feature in dataset.features.items():
        inner = getattr(feature, "feature", None)  # Sequence(ClassLabel) in datasets < 4
        if isinstance(feature, list) and feature:
            inner = feature[0]  # List(ClassLabel) in datasets >= 4
        if isinstance(feature, datasets.ClassLabel):
            inner = feature
        if isinstance(inner, datasets.ClassLabel):
            names[column] = list(inner.names)
    return rows, names
