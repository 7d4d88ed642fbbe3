"""MedTuned relation-extraction tasks: ``gad`` (gene-disease associations, BioBERT 10-fold CV) and
``i2b2-2010`` (clinical concept relations, BLUE format).

Registered with the core through the ``medtuned.plugins`` entry point ``re`` -> :mod:`medtuned_tasks_re.plugin`.
"""

from .tasks import GAD_TASK, I2B2_2010_TASK, TASKS

__all__ = ["GAD_TASK", "I2B2_2010_TASK", "TASKS"]
