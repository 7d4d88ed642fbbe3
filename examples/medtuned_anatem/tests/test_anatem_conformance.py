"""The core's conformance kit on the AnatEM plugin, alone and with the strict parser overriding one hook."""

from __future__ import annotations

import functools

from medtuned_anatem import plugin, strict
from medtuned_core.plugins import Registry, make_registry
from medtuned_core.testing import TaskPluginConformance


class TestAnatemConformance(TaskPluginConformance):
    plugin = plugin  # data_dir None: the sample bundled in the package (TaskInfo.sample_data)


class TestAnatemWithStrictParserConformance(TaskPluginConformance):
    """The override changes one hook; every contract of the task must still hold."""

    plugin = plugin
    lenient_parser = False  # the override's point: only exact answers count

    @classmethod
    @functools.cache
    def _registry(cls) -> Registry:
        return make_registry([plugin, strict], autoload=False)
