"""MedTuned relation-extraction tasks: ``gad`` (gene-disease associations, BioBERT 10-fold CV) and
``i2b2-2010`` (clinical concept relations, BLUE format).

Both are declarations on the core's labels kit (``declarations/*.toml``): rendering, answer parsing and
scikit-learn scoring are the kit's. What stays here is RE-specific: the readers of GAD's fold layout and of
BLUE's TSV (``loader.py``) and the samples. ``plugin`` is the object the ``medtuned.plugins`` entry point names.
"""

from medtuned_core.kits.declare import DeclaredTasks

from .tasks import GAD_TASK, I2B2_2010_TASK, SPECS, TASKS

plugin = DeclaredTasks(SPECS, origin=__name__)

__all__ = ["GAD_TASK", "I2B2_2010_TASK", "SPECS", "TASKS", "plugin"]
