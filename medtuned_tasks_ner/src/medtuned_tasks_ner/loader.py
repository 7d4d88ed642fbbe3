"""Reading the NER corpora is the tagging kit's (:mod:`medtuned_core.kits.tagging.readers`); this name stays importable."""

from medtuned_core.kits.tagging.readers import CorpusRepairWarning

__all__ = ["CorpusRepairWarning"]
