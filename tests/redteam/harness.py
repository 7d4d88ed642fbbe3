"""What every red-team case checks, and the ways it runs the CLI.

A refused input must give: a non-zero exit, exactly one line on the terminal (``Error: ...``, no
traceback) that names what was wrong (a file, a plugin...), a short message (a corrupt 5 MB line is
quoted as an excerpt), and no output left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from click.testing import CliRunner, Result

from medtuned_core import cli as cli_module

MAX_MESSAGE = 600  # characters: a one-line error quotes excerpts, never whole lines


def invoke(*args: object, registry=None, monkeypatch=None, env: dict[str, str] | None = None) -> Result:
    """The ``medtuned`` CLI in-process (fast); ``registry`` replaces the installed plugins (needs ``monkeypatch``)."""
    if registry is not None:
        monkeypatch.setattr(cli_module, "registry", lambda: registry)
    return CliRunner().invoke(cli_module.cli, [str(a) for a in args], env=env, catch_exceptions=True)


def refused(result: Result, *names: object) -> str:
    """Assert the one-line-error contract; returns the message (without ``Error: ``)."""
    text = result.output
    assert result.exit_code not in (0, None), f"exit 0 for an input that must be refused:\n{text[:2000]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"uncaught {type(result.exception).__name__}: {result.exception!r}"
    assert "Traceback" not in text, text[:2000]
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, f"expected one 'Error:' line, got:\n{text[:2000]}"
    message = errors[0]
    assert len(message) <= MAX_MESSAGE, f"error of {len(message):,} characters: {message[:300]}…"
    for name in names:
        assert str(name) in message, f"{name!r} not named in: {message}"
    return message.removeprefix("Error: ")


def nothing_left(folder: Path, allowed: Iterable[str] = ()) -> None:
    """``folder`` holds only ``allowed`` names (no output, temp file, lock or staging folder)."""
    extra = sorted(p.name for p in folder.iterdir() if p.name not in set(allowed)) if folder.exists() else []
    assert extra == [], f"left behind in {folder}: {extra}"


def medtuned(*args: object, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI as a user runs it: a subprocess (real exit codes, real tracebacks if any)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "medtuned_core.cli", *map(str, args)], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def refused_subprocess(proc: subprocess.CompletedProcess, *names: object) -> str:
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("Error:"), proc.stderr[-3000:]
    for name in names:
        assert str(name) in lines[0], f"{name!r} not named in: {lines[0]}"
    return lines[0]
