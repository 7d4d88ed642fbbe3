"""MedTuned classification task: ``hoc`` (Hallmarks of Cancer, multi-label, sentence level, scored per document).

Registered with the core through the ``medtuned.plugins`` entry point ``cls`` -> :mod:`medtuned_tasks_cls.plugin`.
"""

from .tasks import HOC_TASK, TASKS

__all__ = ["HOC_TASK", "TASKS"]
