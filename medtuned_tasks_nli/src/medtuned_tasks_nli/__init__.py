"""MedTuned natural-language-inference task: ``mednli`` (clinical sentence pairs, credentialed).

Registered with the core through the ``medtuned.plugins`` entry point ``nli`` -> :mod:`medtuned_tasks_nli.plugin`.
"""

from .tasks import MEDNLI_TASK, TASKS

__all__ = ["MEDNLI_TASK", "TASKS"]
