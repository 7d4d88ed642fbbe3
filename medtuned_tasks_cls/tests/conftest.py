"""Shared fixtures: a registry holding only this package's plugin (no entry points) and its task."""

from __future__ import annotations

import os

import pytest

from medtuned_core.plugins import make_registry
from medtuned_tasks_cls import plugin
from medtuned_tasks_cls.tasks import HOC

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def registry():
    return make_registry([plugin], autoload=False)


@pytest.fixture(scope="session")
def task(registry):
    return registry.get(HOC)
