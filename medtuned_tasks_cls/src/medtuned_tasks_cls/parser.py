"""Reading a model's free text as a set of hallmarks (never raises).

Every label mentioned counts: its name (``Activating invasion & metastasis``, ``invasion and
metastasis``, British spellings), its abbreviation in brackets (``(IM)``, any case), or a bare
upper-case abbreviation (``IM``). The one-letter ``A`` (angiogenesis) is read bare only when the
whole answer is a list of abbreviations, so the English article never counts. ``None`` is
exclusive: named together with hallmarks it is dropped. The value is the sorted list of corpus
label names (``["none"]`` for None).

An empty answer is the rendered output for a sentence with no labels at all (7/3/1 rows in
train/validation/test), so it reads as ``[]`` when it is the gold (``reference`` is None) or when
the gold itself is empty; anywhere else an empty answer, like text naming no label, is an explicit
invalid answer: ``Parsed(None, ok=False)``, counted wrong and in ``unparsed``.
"""

from __future__ import annotations

import re

from medtuned_core.labels import find_labels
from medtuned_core.types import Parsed

from .labels import ABBREVIATION_TO_LABEL, HALLMARK_NAMES, NONE

# Name variants per corpus label (display and corpus names, short forms, spellings). Matching is whole-word
# after case and punctuation folding, longest mention first (see medtuned_core.labels.find_labels).
NAME_ALIASES: dict[str, tuple[str, ...]] = {
    "sustaining proliferative signaling": ("sustaining proliferative signalling", "proliferative signaling", "proliferative signalling"),
    "evading growth suppressors": ("growth suppressors", "evading growth suppression"),
    "resisting cell death": ("resistance to cell death", "resisting apoptosis"),
    "enabling replicative immortality": ("replicative immortality",),
    "inducing angiogenesis": ("angiogenesis",),
    "activating invasion and metastasis": ("activating invasion & metastasis", "invasion and metastasis", "invasion & metastasis"),
    "genomic instability and mutation": (
        "genome instability & mutation",
        "genome instability and mutation",
        "genomic instability & mutation",
        "genome instability",
        "genomic instability",
    ),
    "tumor promoting inflammation": ("tumour promoting inflammation",),
    "cellular energetics": ("deregulating cellular energetics", "deregulated cellular energetics", "reprogramming energy metabolism"),
    "avoiding immune destruction": ("evading immune destruction", "immune destruction", "immune evasion"),
    NONE: ("no hallmark", "no hallmarks", "no cancer hallmark", "no cancer hallmarks"),
}
ALIASES: dict[str, tuple[str, ...]] = {
    label: (*((HALLMARK_NAMES[label][0],) if label in HALLMARK_NAMES else ()), *names) for label, names in NAME_ALIASES.items()
}

_ABBREVIATIONS = "|".join(sorted(ABBREVIATION_TO_LABEL, key=len, reverse=True))
BRACKETED = re.compile(rf"[(\[]\s*({_ABBREVIATIONS})\s*[)\]]", re.IGNORECASE)
# Bare abbreviations: upper case only, not part of a longer token ("CD95", "IMPACT"); never the one-letter "A".
BARE = re.compile(rf"(?<![A-Za-z0-9])({'|'.join(a for a in ABBREVIATION_TO_LABEL if len(a) > 1)})(?![A-Za-z0-9])")
LIST_SEPARATORS = re.compile(r"[\s,;/+&.]+|\band\b")


def _abbreviated(text: str) -> set[str]:
    # "(im)" counts, but "(a)" is an enumeration far more often than angiogenesis: only "(A)" does.
    found = {ABBREVIATION_TO_LABEL[m.group(1).upper()] for m in BRACKETED.finditer(text) if m.group(1) != "a"}
    found |= {ABBREVIATION_TO_LABEL[m.group(1)] for m in BARE.finditer(text)}
    tokens = [t for t in LIST_SEPARATORS.split(text) if t]
    if tokens and all(t in ABBREVIATION_TO_LABEL for t in tokens):  # "A", "A, IM": an answer made only of abbreviations
        found |= {ABBREVIATION_TO_LABEL[t] for t in tokens}
    return found


def parse_hoc(text: str, reference: str | None) -> Parsed:
    """The hallmarks ``text`` names, as a sorted list of corpus labels; see the module docstring."""
    if not isinstance(text, str) or not text.strip():
        if reference is None or (isinstance(reference, str) and not reference.strip()):
            return Parsed([], ok=True, diagnostics={"empty": True})
        return Parsed(None, ok=False, diagnostics={"reason": "empty answer"})
    found = set(find_labels(text, ALIASES)) | _abbreviated(text)
    if not found:
        return Parsed(None, ok=False, diagnostics={"reason": "no label mentioned"})
    if NONE in found and len(found) > 1:
        return Parsed(sorted(found - {NONE}), ok=True, diagnostics={"none_dropped": True})
    return Parsed(sorted(found), ok=True)
