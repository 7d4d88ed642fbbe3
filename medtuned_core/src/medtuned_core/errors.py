"""Errors that the CLI reports as one clear line (no traceback unless ``--debug``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class MedTunedError(Exception):
    """Base class: anything a user can fix (bad input, missing data, unknown name)."""


# A message is one line of at most this many characters, whatever a caller put in it (a corrupt 5 MB line).
MESSAGE_CHARS = 400


def one_line(message: str, limit: int = MESSAGE_CHARS) -> str:
    """``message`` on one line (newlines escaped) and cut to ``limit`` characters."""
    flat = message.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class CorpusFormatError(MedTunedError):
    """A corpus or JSONL file is malformed; names the file and the 1-based line or record."""

    def __init__(self, path: str | Path, line: int | None, message: str, *, unit: str = "line"):
        message = one_line(message)
        self.path, self.line, self.message = str(path), line, message
        where = f"{self.path}:{line}" if unit == "line" and line is not None else self.path
        if unit != "line" and line is not None:
            where = f"{self.path}, {unit} {line}"
        super().__init__(f"{where}: {message}")


class MissingFileError(CorpusFormatError, FileNotFoundError):
    """An input file (or folder) that does not exist."""

    def __init__(self, path: str | Path, message: str = "file not found"):
        super().__init__(path, None, message)


class MissingDataError(MedTunedError):
    """A task's data folder or file is absent; says where it was expected and how to get it."""

    def __init__(self, task: str, expected: str | Path, how: str = ""):
        self.task, self.expected = task, str(expected)
        hint = f" {how}" if how else ""
        super().__init__(f"task {task!r}: data not found at {self.expected}.{hint}")


class UnknownTaskError(MedTunedError):
    """An unknown task name, with the nearest known names."""

    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(f"unknown task {name!r}.{hint} (`medtuned list-tasks` shows all)")


class PluginError(MedTunedError):
    """A plugin is broken (import error, bad hook, conflicting task name)."""
