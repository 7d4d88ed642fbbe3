"""The core's conformance kit, run against this package's plugin and its shipped samples."""

import medtuned_tasks_cls.plugin
from medtuned_core.testing import TaskPluginConformance


class TestClsPluginConformance(TaskPluginConformance):
    plugin = medtuned_tasks_cls.plugin
    data_dir = None  # each task's sample_data
