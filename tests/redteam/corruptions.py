"""The corruption table, applied to a copy of any data file, whatever its format.

The loaders are found, not listed: every installed task is loaded from its shipped samples while an
audit hook records which files under the sample folder each split opens; each of those files is then
corrupted in a copy. Formats are told apart by content (a JSON document, JSONL, or delimited lines).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HUGE_LINE = 5_000_000  # bytes: the 5 MB line of the issue


# -- which files a loader reads ---------------------------------------------------------------------

_state = threading.local()


def _audit(event: str, args: tuple) -> None:
    if event != "open":
        return
    path = args[0]
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return
    seen = getattr(_state, "seen", None)
    if seen is not None:
        seen.add(os.path.abspath(path))
    denied = getattr(_state, "denied", None)
    if denied and os.path.abspath(path) in denied:
        raise PermissionError(13, "Permission denied", path)


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one does nothing outside the two blocks below


@contextmanager
def recording_opens() -> Iterator[set[str]]:
    """The absolute paths opened in this thread inside the block."""
    _state.seen = set()
    try:
        yield _state.seen
    finally:
        _state.seen = None


@contextmanager
def unreadable(path: Path) -> Iterator[str]:
    """Make ``path`` unreadable for the block; yields how.

    Not root: ``chmod 000``, the real thing. Root reads through any mode, so there every ``open`` of the
    path (``open``, ``Path.open``, ``os.open``: they all raise the ``open`` audit event) fails with the
    ``PermissionError`` the kernel would give a normal user — the loader sees exactly that OS error.
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0)
        try:
            yield "chmod 000"
        finally:
            path.chmod(mode)
        return
    _state.denied = {str(path.absolute())}
    try:
        yield "PermissionError on open (running as root: simulated at the open() call)"
    finally:
        _state.denied = None


# -- format-aware edits -----------------------------------------------------------------------------


def kind(data: bytes) -> str:
    """``json`` (one document), ``jsonl`` or ``lines`` (delimited text)."""
    text = data.decode("utf-8", errors="replace")
    try:
        json.loads(text)
        return "json"
    except ValueError:
        pass
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        if lines and all(isinstance(json.loads(line), dict) for line in lines):
            return "jsonl"
    except ValueError:
        pass
    return "lines"


def _middle_line(data: bytes, min_len: int = 4) -> tuple[int, int]:
    """``(start, end)`` byte offsets of a non-trivial line around the middle of ``data`` (end excludes the newline)."""
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A and i + 1 < len(data)]
    lines = [(s, data.find(b"\n", s) if data.find(b"\n", s) >= 0 else len(data)) for s in starts]
    good = [(s, e) for s, e in lines if len(data[s:e].strip()) >= min_len]
    return good[len(good) // 2] if good else (0, len(data))


def truncate(data: bytes) -> bytes:
    """Cut the file in the middle of a line in its middle: the last record is partial."""
    if kind(data) == "json":
        return data[: len(data) // 2]
    start, end = _middle_line(data)
    line = data[start:end].rstrip(b"\r")
    return data[: start + max(1, len(line) // 2)]


def _rename_keys(record):
    if isinstance(record, dict):
        return {f"x_{k}": v for k, v in record.items()}
    return {"unexpected": record}


def wrong_columns(data: bytes) -> bytes:
    """One record loses its fields: JSON keys renamed, or a delimited line cut to its first column."""
    k = kind(data)
    if k == "json":
        doc = json.loads(data.decode("utf-8"))
        if isinstance(doc, list) and doc:
            doc[0] = _rename_keys(doc[0])
        elif isinstance(doc, dict) and doc:
            first = next(iter(doc))
            doc[first] = _rename_keys(doc[first])
        return json.dumps(doc, indent=2).encode("utf-8")
    start, end = _middle_line(data)
    line = data[start:end]
    if k == "jsonl":
        new = json.dumps(_rename_keys(json.loads(line))).encode("utf-8")
    else:
        sep = next((s for s in (b"\t", b",", b" ") if s in line.strip()), None)
        new = line.strip().split(sep)[0] if sep else line + b"\tEXTRA"
    return data[:start] + new + data[end:]


def columnar(data: bytes) -> bool:
    """Whether the file has columns to get wrong: JSON records, or lines of one field count (>= 2)."""
    k = kind(data)
    if k != "lines":
        return True
    text = data.decode("utf-8", errors="replace")
    sep = "\t" if "\t" in text else None
    lines = [line for line in text.splitlines()[:200] if line.strip()]
    counts = {len(line.split(sep)) for line in lines}
    return len(lines) >= 3 and len(counts) == 1 and counts.pop() >= 2


def invalid_utf8(data: bytes) -> bytes:
    start, end = _middle_line(data)
    at = start + min(2, end - start)
    return data[:at] + b"\xc3\x28\xff" + data[at:]


def binary(data: bytes) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def empty(data: bytes) -> bytes:
    return b""


def huge_line(data: bytes) -> bytes:
    """A 5 MB line that is no record of the format, inserted before a line in the middle."""
    start, _ = _middle_line(data)
    return data[:start] + b"x" * HUGE_LINE + b"\n" + data[start:]


@dataclass(frozen=True)
class Corruption:
    name: str
    edit: Callable[[bytes], bytes] | None  # None: not a content edit (a folder, an unreadable file)
    same_rows: bool = False  # True: must load exactly the rows of the clean file


CORRUPTIONS = (
    Corruption("truncated", truncate),
    Corruption("wrong-columns", wrong_columns),
    Corruption("invalid-utf8", invalid_utf8),
    Corruption("binary", binary),
    Corruption("bom", bom, same_rows=True),
    Corruption("crlf", crlf, same_rows=True),
    Corruption("empty", empty),
    Corruption("huge-line", huge_line),
    Corruption("directory", None),
    Corruption("unreadable", None),
)
