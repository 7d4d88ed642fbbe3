"""Finding a split's file among the names corpora use for it (reading goes through :mod:`medtuned_core.io`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import MedTunedError, MissingDataError
from .io import check_file, iter_lines

# Canonical split -> the file-name stems corpora use for it (BioBERT "devel", i2b2 "dev", HF "validation").
SPLIT_ALIASES = {
    "train": ("train",),
    "validation": ("validation", "valid", "dev", "devel"),
    "test": ("test",),
}


def require_data_dir(data_dir: str | Path | None) -> None:
    """A command that reads corpora was given their root; else one line saying how to give it."""
    if data_dir is None:
        raise MedTunedError("no data directory: pass --data-dir or set MEDTUNED_DATA_DIR")


class MissingSplitError(MissingDataError, FileNotFoundError):
    """The task folder exists but holds no file for the split."""


def split_file(task: str, folder: Path, split: str, patterns: Sequence[str]) -> Path:
    """The first existing ``folder / pattern.format(split=alias)`` over the split's aliases."""
    tried = []
    for alias in SPLIT_ALIASES.get(split, (split,)):
        for pattern in patterns:
            path = folder / pattern.format(split=alias)
            if path.exists():
                return check_file(path)  # a folder of that name is an error, not a miss
            tried.append(path.name)
    raise MissingSplitError(task, folder / tried[0], f"No file for split {split!r}; looked for: {', '.join(tried)}.")


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(1-based line number, line without its newline)``: :func:`medtuned_core.io.iter_lines`."""
    return iter_lines(path)
