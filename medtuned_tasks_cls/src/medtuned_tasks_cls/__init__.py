"""MedTuned classification task: ``hoc`` (Hallmarks of Cancer, multi-label, sentence level, scored per document).

A declaration on the core's labels kit (``declarations/hoc.toml``): reading, rendering, parsing and
document-level scoring are the kit's; this package holds the declaration and the samples. ``plugin`` is the
object the ``medtuned.plugins`` entry point names.
"""

from medtuned_core.kits.declare import DeclaredTasks

from .tasks import HOC_TASK, SPECS, TASKS

plugin = DeclaredTasks(SPECS, origin=__name__)

__all__ = ["HOC_TASK", "SPECS", "TASKS", "plugin"]
