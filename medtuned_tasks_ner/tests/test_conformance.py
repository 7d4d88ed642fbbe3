"""The core's conformance kit, run against the six NER tasks on the shipped samples."""

from medtuned_core.testing import TaskPluginConformance
from medtuned_tasks_ner import plugin


class TestNerPluginConformance(TaskPluginConformance):
    plugin = plugin
    data_dir = None  # each task's sample_data
