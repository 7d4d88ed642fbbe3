"""The AnatEM plugin (the ``medtuned.plugins`` entry point names :data:`plugin`).

The task is declared on the core's tagging kit (``tasks.py``), which renders, parses and scores it; the
one hook written here is loading, because BRAT standoff is a format no kit reads. That is the escape
hatch every declared task keeps: any hook may still be implemented in Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medtuned_core import TaskInfo, hookimpl
from medtuned_core.kits.declare import DeclaredTasks

from .loader import read_split, split_folder
from .tasks import SPEC


class AnatEMTasks(DeclaredTasks):
    """The declared ``anatem`` task, with its own loader for BRAT standoff folders."""

    @hookimpl
    def medtuned_load_corpus(self, task: TaskInfo, data_dir: Path, split: str, options: dict[str, Any]) -> Iterator[dict[str, Any]] | None:
        if task.name not in self.specs:
            return None
        folder = split_folder(task.name, Path(data_dir) / task.data_folder, split)  # raises now if the split is absent
        return read_split(folder)


plugin = AnatEMTasks([SPEC], origin=__name__)
