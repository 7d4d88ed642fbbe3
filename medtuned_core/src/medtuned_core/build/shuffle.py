"""A seeded external shuffle with memory bounded by one shard, whatever the number of rows.

Each row gets a key: a seeded hash of ``(seed, task, split, options, id)``. The output order is
simply "rows sorted by key", which is a uniformly random permutation for a given seed and does not
depend on how rows were produced. To sort millions of rows without holding them, rows are appended
to shard files by the key's first hex digit (a range partition: keys are uniform, so shards are
even), then each shard is sorted in memory and emitted in digit order. A shard larger than the
memory budget is split again by the next digit, recursively, so the budget holds at any scale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

HEX = "0123456789abcdef"
KEY_CHARS = 16  # 64-bit keys, written as fixed-width hex so that text order is numeric order
DEFAULT_SHARD_BYTES = 8 * 1024 * 1024  # sorted in memory at most this much text at a time


def row_key(seed: int, task: str, split: str, options_key: str, example_id: str) -> str:
    """The shuffle key of a row: a function of the seed and the row's identity, not its position."""
    text = f"{seed}\x1f{task}\x1f{split}\x1f{options_key}\x1f{example_id}".encode()
    return hashlib.blake2b(text, digest_size=KEY_CHARS // 2).hexdigest()


class ExternalShuffle:
    """Collects ``(key, line)`` pairs on disk and gives the lines back in key order."""

    def __init__(self, folder: Path, max_shard_bytes: int = DEFAULT_SHARD_BYTES):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_shard_bytes = max_shard_bytes
        self.rows = 0
        self._writers: dict[str, IO[str]] = {}

    def add(self, key: str, line: str) -> None:
        """Queue one row; ``line`` is a JSON text without newlines (JSON escapes them)."""
        writer = self._writers.get(key[0])
        if writer is None:
            writer = self._writers[key[0]] = self._open(self.folder / key[0], "w")
        writer.write(f"{key}\t{line}\n")
        self.rows += 1

    def lines(self) -> Iterator[str]:
        """Every queued line (with its trailing newline), in key order; shard files are removed as they are used."""
        self.close()
        for digit in HEX:
            path = self.folder / digit
            if path.exists():
                yield from self._drain(path, depth=1)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def _drain(self, path: Path, depth: int) -> Iterator[str]:
        if path.stat().st_size > self.max_shard_bytes and depth < KEY_CHARS:
            yield from self._split(path, depth)
            return
        with self._open(path, "r") as fh:
            lines = fh.readlines()
        path.unlink()
        # Ties (the same key twice) fall back to the line text, so the order stays total.
        lines.sort()
        for line in lines:
            yield line[KEY_CHARS + 1 :]

    def _split(self, path: Path, depth: int) -> Iterator[str]:
        """Too big for memory: partition by the next key digit and drain each part in order."""
        parts: dict[str, IO[str]] = {}
        try:
            with self._open(path, "r") as fh:
                for line in fh:
                    digit = line[depth]
                    part = parts.get(digit)
                    if part is None:
                        part = parts[digit] = self._open(path.with_name(path.name + digit), "w")
                    part.write(line)
        finally:
            for part in parts.values():
                part.close()
        path.unlink()
        for digit in HEX:
            sub = path.with_name(path.name + digit)
            if sub.exists():
                yield from self._drain(sub, depth + 1)

    @staticmethod
    def _open(path: Path, mode: str) -> IO[str]:
        # newline="\n": lines end only at "\n", never at a "\r" or U+2028 inside the JSON text.
        return path.open(mode, encoding="utf-8", newline="\n", buffering=1 << 18)
