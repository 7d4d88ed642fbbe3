"""Shared fixtures: a registry holding only this package's plugin, and helpers that write small corpora."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medtuned_core.testing import registry_fixture
from medtuned_tasks_qa import plugin
from medtuned_tasks_qa.tasks import SAMPLES

registry = registry_fixture(plugin)


@pytest.fixture
def data_root(tmp_path):
    """A writable copy of the shipped samples (a data root with all four folders)."""
    root = tmp_path / "data"
    shutil.copytree(SAMPLES, root)
    return root


def write_json(path: Path, obj, indent: int | None = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=indent), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def helpers():
    class Helpers:
        json = staticmethod(write_json)
        jsonl = staticmethod(write_jsonl)

    return Helpers
