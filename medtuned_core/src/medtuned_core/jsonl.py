"""JSONL and atomic writing (temporary file, then rename); reading lives in :mod:`medtuned_core.io` (re-exported here)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from .io import read_jsonl  # noqa: F401  (re-exported: the reading side lives in io)

_UMASK = os.umask(0o022)
os.umask(_UMASK)


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
