"""MedTuned NER tasks: NCBI-disease, BC5CDR-disease, BC5CDR-chem, BC2GM, JNLPBA and i2b2-2012.

Six declarations on the core's tagging kit (:mod:`medtuned_core.kits.tagging`: column-file, JSONL and
``datasets`` readers, the position-aligned output parser, seqeval entity F1); what stays here is what is
NER-specific: the tasks' metadata and file layouts (``tasks.py``), our instruction templates
(``templates.py``) and the samples. ``plugin`` is the object the ``medtuned.plugins`` entry point names.
"""

from medtuned_core.kits.declare import DeclaredTasks
from medtuned_core.kits.tagging import CorpusRepairWarning

from .tasks import SPECS, TASKS

plugin = DeclaredTasks(SPECS, origin=__name__)

__all__ = ["SPECS", "TASKS", "CorpusRepairWarning", "plugin"]
