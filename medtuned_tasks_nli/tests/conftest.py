"""Shared fixtures: a registry holding only this package's plugin (no entry points) and its task."""

from __future__ import annotations

import pytest

from medtuned_core.testing import registry_fixture
from medtuned_tasks_nli import plugin
from medtuned_tasks_nli.tasks import MEDNLI

registry = registry_fixture(plugin)


@pytest.fixture(scope="session")
def task(registry):
    return registry.get(MEDNLI)
