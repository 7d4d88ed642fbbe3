"""The build manifest: everything needed to know what a dataset was built from.

The manifest is deterministic — the same spec, inputs and seed give the same bytes — so it holds no
timestamps and no paths of this machine (data folders are named relative to the data root). Run
facts (when, where, how long) go to ``run.json`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from ..types import TaskInfo

MANIFEST_FORMAT = "medtuned-build/1"
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def hash_folder(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, keyed by its path relative to it (sorted, ``/``-separated)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_file():
                out[path.relative_to(folder).as_posix()] = sha256_file(path)
    return dict(sorted(out.items()))


def distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def package_versions(tasks: Iterable[TaskInfo]) -> dict[str, str]:
    """Versions of the core, of every distribution providing a task used, and of the writer libraries."""
    out = {"medtuned-core": distribution_version("medtuned-core")}
    for task in tasks:
        out[task.package] = task.version or distribution_version(task.package)
    for lib in ("datasets", "pyarrow"):
        out[lib] = distribution_version(lib)
    return dict(sorted(out.items()))


def dumps_manifest(manifest: dict[str, Any]) -> str:
    """Canonical text: stable key order (the builder's), two-space indent, a final newline."""
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
