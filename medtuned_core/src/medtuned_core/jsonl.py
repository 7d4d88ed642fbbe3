"""JSONL reading with file/line errors, and atomic writing (temporary file, then rename)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from .errors import CorpusFormatError

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; a bad line raises with its number."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                if lineno == 1 and line.lstrip().startswith("["):
                    raise CorpusFormatError(path, 1, "expected JSONL (one object per line), found a JSON array") from None
                raise CorpusFormatError(path, lineno, f"invalid JSON ({exc.msg})") from None
            if isinstance(obj, list) and lineno == 1:
                raise CorpusFormatError(path, 1, "expected JSONL (one object per line), found a JSON array")
            if not isinstance(obj, dict):
                raise CorpusFormatError(path, lineno, f"expected a JSON object, found {type(obj).__name__}")
            yield lineno, obj


def dumps(obj: Any) -> str:
    """One canonical JSON line: stable key order is the caller's, non-ASCII kept readable."""
    return json.dumps(obj, ensure_ascii=False)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it only if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the final file the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_writer(target: str | Path) -> Iterator[TextIO]:
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8") as fh:
        yield fh


def write_jsonl(target: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically; returns the count."""
    n = 0
    with atomic_writer(target) as fh:
        for row in rows:
            fh.write(dumps(row) + "\n")
            n += 1
    return n
