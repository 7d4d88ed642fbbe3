"""MedTuned QA tasks: ChatDoctor, PMC-LLaMA instructions (per-source), MedQA and PubMedQA.

Registered through the ``medtuned.plugins`` entry point ``qa = medtuned_tasks_qa.plugin``.
"""

from .tasks import CHATDOCTOR, MEDQA, PMC_LLAMA, PMC_LLAMA_SOURCES, PUBMEDQA, TASKS

__version__ = "0.1.0"
__all__ = ["CHATDOCTOR", "MEDQA", "PMC_LLAMA", "PMC_LLAMA_SOURCES", "PUBMEDQA", "TASKS", "__version__"]
