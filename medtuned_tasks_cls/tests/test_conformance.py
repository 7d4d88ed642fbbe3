"""The core's conformance kit, run against this package's plugin and its shipped samples."""

from medtuned_core.testing import TaskPluginConformance
from medtuned_tasks_cls import plugin


class TestClsPluginConformance(TaskPluginConformance):
    plugin = plugin
    data_dir = None  # each task's sample_data
