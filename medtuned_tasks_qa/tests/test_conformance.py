"""The core's conformance kit, run against the four QA tasks on the shipped samples."""

import medtuned_tasks_qa.plugin
from medtuned_core.testing import TaskPluginConformance


class TestQaPluginConformance(TaskPluginConformance):
    plugin = medtuned_tasks_qa.plugin
    data_dir = None  # each task's sample_data
