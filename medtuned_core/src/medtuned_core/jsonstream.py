"""Streaming readers for big single-document JSON files (one array of records, or one object of them).

HealthCareMagic-100k.json (about 140 MB) and PMC-LLaMA's release.json (about 700 MB) are one JSON
array each; ``json.load`` would hold the whole file several times over in memory. These readers
decode one record at a time with the standard library's ``JSONDecoder.raw_decode`` and report
problems the way a user can act on them: the file, the record number and the line, and whether the
file looks truncated or is simply in another shape (JSON Lines where an array was expected, and
the reverse). Files are opened through :func:`medtuned_core.io.text_stream` (path, binary and encoding
checks with one-line errors).

Why not ``ijson``: measured by ``benchmarks/bench_json_stream.py`` (docs/qa.md, "Scale"), ijson's C
backend reads a 200,000-row release 2.6x as fast with a little less memory, but its errors name neither
the record nor the line (``parse error: premature EOF`` and a context excerpt), and reading is not
what limits a build; these readers keep the better messages without a compiled dependency.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CorpusFormatError
from .io import read_jsonl, text_stream

_CHUNK = 1 << 20  # characters read at a time
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A decode error this close to the end of the buffer may only mean the record continues in the next chunk.
_TAIL = 8


@dataclass(frozen=True)
class Record:
    """One top-level item: its 1-based number, the line it starts on, its key (objects only) and value."""

    number: int
    line: int
    key: str | None
    value: Any


def first_char(path: Path) -> str:
    """The first non-whitespace character of a file ("" when it is empty); tolerates a UTF-8 BOM."""
    with text_stream(path) as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[0]
    return ""


class _Scanner:
    """A sliding window over a text file with line bookkeeping for messages."""

    def __init__(self, path: Path, fh: Any):
        self.path, self.fh = path, fh
        self.buf, self.pos, self.eof = "", 0, False
        self.line_base = 1  # line number of buf[0]
        self._mark = (0, 1)  # a (position, line) already counted, so each count only scans forward
        self.decoder = json.JSONDecoder()

    def fill(self) -> None:
        """Drop consumed text and append the next chunk."""
        self.line_base = self.line_at(self.pos)
        self._mark = (0, self.line_base)
        chunk = self.fh.read(_CHUNK)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        self.eof = not chunk

    def line_at(self, pos: int) -> int:
        mark_pos, mark_line = self._mark if pos >= self._mark[0] else (0, self.line_base)
        line = mark_line + self.buf.count("\n", mark_pos, pos)
        self._mark = (pos, line)
        return line

    def peek(self) -> str:
        """The next non-whitespace character, "" at the end of the file."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return ""
            self.fill()

    def error(self, number: int, message: str, pos: int | None = None) -> CorpusFormatError:
        line = self.line_at(self.pos if pos is None else pos)
        return CorpusFormatError(self.path, number, f"{message} (line {line})", unit="record")

    def value(self, number: int, what: str) -> Any:
        """Decode the JSON value starting at the cursor, reading more of the file as needed."""
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                unterminated = exc.msg.startswith("Unterminated string")
                if not self.eof and (unterminated or exc.pos >= len(self.buf) - _TAIL):
                    self.fill()  # the record may simply continue in the next chunk
                    continue
                end_of_text = len(self.buf.rstrip())
                cut_escape = "escape" in exc.msg and exc.pos >= end_of_text - 6  # "\u00" at the very end
                if unterminated or cut_escape or exc.pos >= end_of_text:
                    raise self.error(number, f"the file ends inside {what}: it looks truncated ({exc.msg})", exc.pos) from None
                raise self.error(number, f"invalid JSON in {what}: {exc.msg}", exc.pos) from None
            if not self.eof and end + _TAIL > len(self.buf):
                self.fill()  # a number or literal near the end may continue in the next chunk ("2.5" + "e10"): decode it again
                continue
            self.pos = end
            return obj


def iter_json_array(path: str | Path) -> Iterator[Record]:
    """The items of a file holding one JSON array, one at a time."""
    path = Path(path)
    with text_stream(path) as fh:
        sc = _Scanner(path, fh)
        start = sc.peek()
        if start != "[":
            raise _shape_error(path, start, expected="one JSON array of records")
        sc.pos += 1
        number = 0
        if sc.peek() == "]":
            sc.pos += 1
        else:
            while True:
                number += 1
                line = sc.line_at(sc.pos)
                yield Record(number, line, None, sc.value(number, f"record {number}"))
                nxt = sc.peek()
                if nxt == ",":
                    sc.pos += 1
                    if sc.peek() == "]":
                        raise sc.error(number, "a trailing comma after the last record")
                    continue
                if nxt == "]":
                    sc.pos += 1
                    break
                if nxt == "":
                    raise sc.error(number, "the file ends after this record without the closing ']': it looks truncated")
                raise sc.error(number, f"expected ',' or ']' after this record, found {nxt!r}")
        _expect_end(sc, number, "array")


def iter_json_object(path: str | Path) -> Iterator[Record]:
    """The ``key: value`` members of a file holding one JSON object, one at a time."""
    path = Path(path)
    with text_stream(path) as fh:
        sc = _Scanner(path, fh)
        start = sc.peek()
        if start != "{":
            raise _shape_error(path, start, expected="one JSON object")
        sc.pos += 1
        number = 0
        if sc.peek() == "}":
            sc.pos += 1
        else:
            while True:
                number += 1
                first = sc.peek()  # skips the whitespace first, so that the line is the key's, not the comma's
                line = sc.line_at(sc.pos)
                if first != '"':
                    raise sc.error(number, "expected a quoted key" if first else "the file ends before this record: it looks truncated")
                key = sc.value(number, f"the key of record {number}")
                if sc.peek() != ":":
                    raise sc.error(number, f"expected ':' after the key {key!r}" if sc.peek() else "the file ends after a key: it looks truncated")
                sc.pos += 1
                sc.peek()
                yield Record(number, line, key, sc.value(number, f"record {number} ({key!r})"))
                nxt = sc.peek()
                if nxt == ",":
                    sc.pos += 1
                    continue
                if nxt == "}":
                    sc.pos += 1
                    break
                if nxt == "":
                    raise sc.error(number, "the file ends after this record without the closing '}': it looks truncated")
                raise sc.error(number, f"expected ',' or '}}' after this record, found {nxt!r}")
        _expect_end(sc, number, "object")


def iter_json_records(path: str | Path) -> Iterator[Record]:
    """Records of a file that is either one JSON array or JSON Lines (decided by its first character)."""
    path = Path(path)
    start = first_char(path)
    if start == "":
        raise CorpusFormatError(path, None, "the file is empty; expected one JSON array of records or JSON Lines")
    if start == "[":
        yield from iter_json_array(path)
        return
    for number, (lineno, obj) in enumerate(read_jsonl(path), 1):
        yield Record(number, lineno, None, obj)


def _expect_end(sc: _Scanner, number: int, kind: str) -> None:
    rest = sc.peek()
    if rest:
        hint = " (several JSON documents: is this JSON Lines?)" if rest in "[{" else ""
        raise sc.error(number, f"unexpected content after the closing of the top-level {kind}{hint}")


def _shape_error(path: Path, start: str, expected: str) -> CorpusFormatError:
    if start == "":
        return CorpusFormatError(path, 1, f"the file is empty; expected {expected}")
    if start == "{" and "array" in expected:
        found = "a JSON object (JSON Lines, one object per line?)"
    elif start == "[":
        found = "a JSON array"
    else:
        found = f"{start!r}"
    return CorpusFormatError(path, 1, f"expected {expected}, found {found}")
