"""The core's conformance kit, run against the four QA tasks on the shipped samples."""

from medtuned_core.testing import TaskPluginConformance
from medtuned_tasks_qa import plugin


class TestQaPluginConformance(TaskPluginConformance):
    plugin = plugin
    data_dir = None  # each task's sample_data
