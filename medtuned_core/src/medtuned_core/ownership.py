"""Output folders are owned: one run at a time writes into an ``--out``.

``build``, ``evaluate`` and ``train`` hold an exclusive lock on their output folder for the whole run.
A second run into the same folder refuses at once, naming the holder (pid, host, command, start time).

The lock is a kernel ``flock`` on a small file beside the folder, ``.NAME.lock`` (beside, not inside:
``build`` publishes its output by renaming a staging folder onto ``--out``, and a lock file inside
would make a fresh ``--out`` look non-empty). We use the ``filelock`` library (well kept, and already
installed with ``datasets``/``transformers``/``torch``): the kernel drops a flock when its process
dies, however it dies, so a lock of a killed run is never in the way — the holder record it leaves is
simply overwritten. The file is removed on release while still locked, a pattern ``filelock`` is built
for (a contender that opened the old file sees it was unlinked and does not count it as acquired).
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import json
import os
import shlex
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .errors import MedTunedError

F = TypeVar("F", bound=Callable[..., Any])
_COMMAND_CHARS = 200


class FolderBusyError(MedTunedError):
    """Another run holds the output folder."""

    def __init__(self, out: Path, holder: dict[str, Any] | None):
        self.out, self.holder = out, holder
        if holder:
            who = f"pid {holder.get('pid')} on {holder.get('host')}, `{holder.get('command')}`, started {holder.get('started')}"
        else:
            who = "another process (its record is unreadable)"
        super().__init__(f"{out} is in use by {who}; wait for that run to end or choose another --out")


def lock_path(out: str | Path) -> Path:
    """Where the lock of output folder ``out`` lives: ``PARENT/.NAME.lock``."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.lock"


def _command() -> str:
    argv = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]]
    text = shlex.join(argv)
    return text if len(text) <= _COMMAND_CHARS else text[: _COMMAND_CHARS - 1] + "…"


def read_holder(path: Path) -> dict[str, Any] | None:
    """The record a holder wrote into its lock file (None when absent or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class OutputLock:
    """``with OutputLock(out, "build"):`` — own ``out`` for the block, or raise :class:`FolderBusyError` at once.

    Missing parent folders are created for the lock file and removed again on release if still empty, so a
    run that fails early leaves nothing behind.
    """

    def __init__(self, out: str | Path, command: str | None = None):
        self.out = Path(out).expanduser()
        self.path = lock_path(self.out)
        self.command = command or _command()
        self._lock: Any = None
        self._made: list[Path] = []

    def __enter__(self) -> OutputLock:
        import filelock

        self._make_parents()
        record = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command, "started": _now()}

        def write_record(fd: int) -> None:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (json.dumps(record) + "\n").encode("utf-8"))

        lock = filelock.FileLock(self.path, timeout=0, thread_local=False, on_acquired=write_record)
        try:
            lock.acquire()
        except filelock.Timeout:
            self._remove_parents()
            raise FolderBusyError(self.out, read_holder(self.path)) from None
        except OSError as exc:
            self._remove_parents()
            raise MedTunedError(f"{self.out}: cannot lock the output folder ({exc.strerror or exc}; is {self.path.parent} writable?)") from None
        self._lock = lock
        return self

    def __exit__(self, *exc: object) -> None:
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still locked: see the module doc
        except OSError:
            pass
        lock.release()
        self._remove_parents()

    def _make_parents(self) -> None:
        missing = []
        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                self._remove_parents()
                raise MedTunedError(f"{self.out}: cannot create {folder} ({exc.strerror or exc})") from None
            self._made.append(folder)

    def _remove_parents(self) -> None:
        for folder in reversed(self._made):
            try:
                folder.rmdir()  # only if still empty: the run's own output keeps it
            except OSError:
                break
        self._made = []


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def owns_output(where: str | Callable[..., Any] = "out", on_error: Callable[[Path, set[str] | None], None] | None = None) -> Callable[[F], F]:
    """Decorate a run function so that it holds :class:`OutputLock` on its output folder while it runs.

    ``where`` names the argument holding the folder, or is a function of the bound arguments returning it
    (None: no lock, e.g. on the non-main ranks of a distributed run). ``on_error(out, before)`` runs, still
    under the lock, when the function raises; ``before`` holds the names that were in ``out`` when the run
    began (None: ``out`` did not exist), so that it can remove what a failed run created.
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            out = bound.arguments.get(where) if isinstance(where, str) else where(**bound.arguments)
            if out is None or out == "":
                return fn(*args, **kwargs)
            with OutputLock(out):
                folder = Path(out).expanduser()
                before = {p.name for p in folder.iterdir()} if on_error and folder.is_dir() else None
                try:
                    return fn(*args, **kwargs)
                except BaseException:
                    if on_error is not None:
                        on_error(folder, before)
                    raise

        return wrapper  # type: ignore[return-value]

    return decorate
