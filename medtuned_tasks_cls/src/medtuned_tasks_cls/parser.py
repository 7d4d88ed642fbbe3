"""Reading a model's free text as a set of hallmarks: the labels kit's set parser with HoC's declaration.

Every label mentioned counts: its name (``Activating invasion & metastasis``, ``invasion and metastasis``,
British spellings), its abbreviation in brackets (``(IM)``, any case), or a bare upper-case abbreviation
(``IM``); the one-letter ``A`` (angiogenesis) only in brackets or in an answer made only of abbreviations.
``None`` is exclusive. The value is the sorted list of corpus label names (``["none"]`` for None); an empty
answer is ``[]`` where the gold is empty (7/3/1 rows in train/validation/test) and unparsed elsewhere.
"""

from __future__ import annotations

from medtuned_core.kits.labels import KIT
from medtuned_core.types import Parsed

from .tasks import SPECS


def parse_hoc(text: str, reference: str | None) -> Parsed:
    """The hallmarks ``text`` names, as a sorted list of corpus labels (``reference`` is None for a gold)."""
    return KIT.parse(SPECS[0], text, None, reference)
