"""Shared fixtures: a registry holding only this package's plugin (no entry points), the samples root."""

from __future__ import annotations

from pathlib import Path

import pytest

from medtuned_core.testing import registry_fixture
from medtuned_tasks_re import plugin
from medtuned_tasks_re.tasks import SAMPLES

registry = registry_fixture(plugin)


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def write(tmp_path: Path):
    """Write ``text`` to ``tmp_path / rel`` (bytes as given: no newline translation) and return the data root."""

    def _write(rel: str, text: str) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return tmp_path

    return _write
