"""MedTuned QA tasks: ChatDoctor, PMC-LLaMA instructions (per-source), MedQA and PubMedQA.

Declarations on the core's kits (``tasks.py``): text (ROUGE-L, a weak proxy) for the free-text tasks,
labels for MedQA's options and PubMedQA's decisions. ``plugin`` is the object the ``medtuned.plugins``
entry point ``qa`` names.
"""

from medtuned_core.kits.declare import DeclaredTasks

from .tasks import CHATDOCTOR, MEDQA, PMC_LLAMA, PMC_LLAMA_SOURCES, PUBMEDQA, SPECS, TASKS

__version__ = "0.1.0"
plugin = DeclaredTasks(SPECS, origin=__name__)

__all__ = ["CHATDOCTOR", "MEDQA", "PMC_LLAMA", "PMC_LLAMA_SOURCES", "PUBMEDQA", "SPECS", "TASKS", "__version__", "plugin"]
