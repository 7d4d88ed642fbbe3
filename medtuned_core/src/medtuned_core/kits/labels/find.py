"""Finding label mentions in free text — the matching every labels-kit parser builds on.

Models answer "TrAP", "trap.", "The relation is TrAP (treatment administered for problem)",
"**Entailment**" or "Answer: yes". ``find_labels`` returns the canonical labels mentioned, in the
order they first appear, matching each alias as a whole word after case and punctuation folding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

_FOLD = re.compile(r"[^0-9a-z&]+")


def fold(text: str) -> str:
    """Lower-case, punctuation and whitespace runs collapsed to one space."""
    return " " + _FOLD.sub(" ", text.lower()).strip() + " "


@lru_cache(maxsize=256)
def _compiled(aliases: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for label, names in aliases:
        alts = sorted({fold(n).strip() for n in (label, *names) if fold(n).strip()}, key=len, reverse=True)
        out.append((label, re.compile(r"(?<= )(?:" + "|".join(re.escape(a) for a in alts) + r")(?= )")))
    return out


def find_labels(text: str, aliases: Mapping[str, Sequence[str]]) -> list[str]:
    """Canonical labels mentioned in ``text``, ordered by first mention.

    When one alias is a prefix of another ("Tr" vs "TrAP"), whole-word matching keeps them apart;
    where two mentions overlap, the longer one wins.
    """
    if not isinstance(text, str) or not text:
        return []
    folded = fold(text)
    key = tuple((label, tuple(names)) for label, names in aliases.items())
    spans = []
    for label, pattern in _compiled(key):
        for m in pattern.finditer(folded):
            spans.append((m.start(), -(m.end() - m.start()), m.end(), label))
    spans.sort()
    found: list[str] = []
    covered_to = -1
    for start, _, end, label in spans:
        if start < covered_to:
            continue  # inside a longer mention that starts earlier
        covered_to = end
        if label not in found:
            found.append(label)
    return found


def first_label(text: str, aliases: Mapping[str, Sequence[str]]) -> str | None:
    found = find_labels(text, aliases)
    return found[0] if found else None
