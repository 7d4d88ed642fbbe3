"""MedTuned NER tasks: NCBI-disease, BC5CDR-disease, BC5CDR-chem, BC2GM, JNLPBA and i2b2-2012.

Loaders for BioBERT TSV, CoNLL, JSONL and ``datasets`` folders; our own instruction templates; a parser
that aligns a model's answer to the input tokens by position; seqeval entity F1.
"""

from .loader import CorpusRepairWarning
from .parser import TagScheme, parse_ner
from .tasks import TASKS

__all__ = ["TASKS", "CorpusRepairWarning", "TagScheme", "parse_ner"]
