"""Shared fixtures: a registry holding only this package's plugin (no entry points), and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from medtuned_core.plugins import Registry, make_registry
from medtuned_tasks_ner import plugin
from medtuned_tasks_ner.tasks import SAMPLES


@pytest.fixture(scope="session")
def registry() -> Registry:
    return make_registry([plugin], autoload=False)


@pytest.fixture(scope="session")
def samples() -> Path:
    return Path(SAMPLES)
