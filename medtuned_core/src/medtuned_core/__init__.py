"""MedTuned core: the task plugin system, the shared prompt format, and the tools built on them.

Kept import-light on purpose: nothing here imports torch, transformers or any task package.
"""

from .errors import CorpusFormatError, MedTunedError, MissingDataError, UnknownTaskError
from .hookspecs import hookimpl
from .types import Parsed, TaskInfo, UnitScores

__all__ = ["CorpusFormatError", "MedTunedError", "MissingDataError", "Parsed", "TaskInfo", "UnitScores", "UnknownTaskError", "hookimpl"]
