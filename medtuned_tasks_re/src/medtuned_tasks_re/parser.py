"""Free text -> one relation label. Never raises.

Matching is :func:`medtuned_core.labels.find_labels`: whole words after case and punctuation folding,
so "TrAP", "trap.", "**TrAP**" and "The relation is TrAP (treatment administered for problem)" all
read as ``TrAP``. When several labels are mentioned the first one wins (models answer first and
explain after). A text that mentions no label is an invalid prediction: ``Parsed(None, ok=False)``,
which the scorer counts as wrong and the core counts in ``unparsed``; it is never mapped to a class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medtuned_core import Parsed
from medtuned_core.labels import find_labels

from .tasks import GAD_NEGATIVE, GAD_POSITIVE, I2B2_NO_RELATION, I2B2_RELATION_NAMES

# Aliases map a phrase to its label; where two aliases overlap the longer wins, so the negated
# phrases ("not associated", "no association") beat the bare words they contain.
GAD_ALIASES: dict[str, tuple[str, ...]] = {
    GAD_POSITIVE: ("positive", "association", "associated", "related", "yes", "true", "not negative"),
    GAD_NEGATIVE: (
        "negative",
        "no association",
        "not associated",
        "no relation",
        "no relationship",
        "not related",
        "unrelated",
        "none",
        "no",
        "false",
        "not positive",
    ),
}


def _i2b2_aliases() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for label, name in I2B2_RELATION_NAMES.items():
        # "Treatment is administered for medical problem" -> also "treatment administered for problem".
        short = name.replace(" is ", " ").replace("medical problem", "problem").replace("Medical problem", "Problem")
        out[label] = (name, short)
    out[I2B2_NO_RELATION] = ("no relation", "no relationship", "no relations", "none", "false", "unrelated", "not related")
    return out


I2B2_ALIASES = _i2b2_aliases()


def parse_label(text: str, aliases: Mapping[str, Sequence[str]]) -> Parsed:
    """The first label ``text`` mentions; ``ok=False`` (value None) when it mentions none."""
    found = find_labels(text, aliases) if isinstance(text, str) else []
    if not found:
        return Parsed(None, ok=False, diagnostics={"reason": "no label mentioned"})
    return Parsed(found[0], ok=True, diagnostics={"mentioned": found} if len(found) > 1 else {})


def parse_gad(text: str) -> Parsed:
    return parse_label(text, GAD_ALIASES)


def parse_i2b2_2010(text: str) -> Parsed:
    return parse_label(text, I2B2_ALIASES)
