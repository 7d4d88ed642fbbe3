"""The core's conformance kit, run against this plugin's tasks on the shipped samples."""

from medtuned_core.testing import TaskPluginConformance
from medtuned_tasks_re import plugin


class TestRePluginConformance(TaskPluginConformance):
    plugin = plugin
    data_dir = None  # each task's sample_data
