"""MedTuned natural-language-inference task: ``mednli`` (clinical sentence pairs, credentialed).

A declaration on the core's labels kit (``declarations/mednli.toml``); what stays here is the reader of
the release's JSONL and BLUE's TSV (``loader.py``) and the samples. ``plugin`` is the object the
``medtuned.plugins`` entry point names.
"""

from medtuned_core.kits.declare import DeclaredTasks

from .tasks import MEDNLI_TASK, SPECS, TASKS

plugin = DeclaredTasks(SPECS, origin=__name__)

__all__ = ["MEDNLI_TASK", "SPECS", "TASKS", "plugin"]
