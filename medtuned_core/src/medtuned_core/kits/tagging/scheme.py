"""Tag schemes (IOB1, IOB2, IOBES, BILOU; typed or untyped) and reading a raw label as one of a task's tags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

OUTSIDE = "O"
# The prefixes each scheme writes besides O, in the order a derived tag set lists them.
SCHEMES: dict[str, tuple[str, ...]] = {
    "iob1": ("B", "I"),
    "iob2": ("B", "I"),
    "iobes": ("B", "I", "E", "S"),
    "bilou": ("B", "I", "L", "U"),
}
# Spelt-out prefixes models write; each counts only in a scheme that has the prefix.
_WORDS = {"BEGIN": "B", "BEGINNING": "B", "INSIDE": "I", "INNER": "I", "END": "E", "SINGLE": "S", "LAST": "L", "UNIT": "U", "OUTSIDE": OUTSIDE}
_ALL_PREFIXES = frozenset("BIESLU")


def tag_set(scheme: str, types: Sequence[str] = ()) -> tuple[str, ...]:
    """The tags of a scheme: untyped ``("B", "I", "O")``; typed ``("O", "B-T1", "I-T1", "B-T2", ...)``."""
    prefixes = SCHEMES[scheme]
    if not types:
        return (*prefixes, OUTSIDE)
    return (OUTSIDE, *(f"{p}-{t}" for t in types for p in prefixes))


def label_problems(labels: Sequence[str], scheme: str) -> list[str]:
    """Why ``labels`` are not tags of ``scheme`` (empty when they are)."""
    prefixes = SCHEMES[scheme]
    bad = [t for t in labels if t != OUTSIDE and not (t in prefixes or (t[:1] in prefixes and t[1:2] == "-" and t[2:].strip() == t[2:] and t[2:]))]
    out = (
        [f"{', '.join(map(repr, bad[:5]))} {'is' if len(bad) == 1 else 'are'} not {scheme.upper()} tags (O, or {'/'.join(prefixes)} with an optional -TYPE)"]
        if bad
        else []
    )
    if OUTSIDE not in labels:
        out.append("the tag set has no O")
    if len({t == OUTSIDE or "-" in t for t in labels} - {True}) and any("-" in t for t in labels):
        out.append("mixes typed (B-X) and untyped (B) tags")
    return out


@dataclass(frozen=True)
class TagScheme:
    """The tags a task accepts and how raw labels read as them.

    ``labels`` are the task's tags (``()``: any well-formed tag, for parsing without a task); ``typed`` means
    tags carry a type (``B-PROBLEM``), else bare prefixes; ``name`` is the scheme (``iob2``...).
    """

    labels: tuple[str, ...]
    typed: bool
    name: str = "iob2"
    # Each label spelt exactly as the task writes it (the fast path's lookup), and every raw label read so far.
    exact: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _seen: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _folded: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        self.exact.update(zip(self.labels, self.labels, strict=True))
        self._folded.update((label.upper(), label) for label in self.labels)

    @property
    def prefixes(self) -> tuple[str, ...]:
        return SCHEMES[self.name]

    def canonical(self, raw: str | None) -> str | None:
        """The canonical tag a raw label stands for, or None when it is not a label of this task."""
        if raw is None:
            return None
        try:
            return self._seen[raw]  # the per-line hot path: a dict hit, no string work
        except KeyError:
            tag = self._canonical(raw)
            if len(self._seen) < 10_000:
                self._seen[raw] = tag
            return tag

    def _word(self, up: str) -> str | None:
        """A bare prefix (``B``, ``O``) or its spelt-out form (``BEGIN``) in this scheme."""
        prefix = _WORDS.get(up, up)
        return prefix if prefix == OUTSIDE or prefix in (self.prefixes if self.labels else _ALL_PREFIXES) else None

    def _canonical(self, raw: str) -> str | None:
        stripped = raw.strip().strip("()[]{}<>\"'`*.,;:").strip()
        up = stripped.upper()
        if not self.labels:
            return self._any_tag(stripped, up)
        if not self.typed:
            word = self._word(up)
            if word is not None:
                return word
            head, sep, kind = up.partition("-")
            # `word : B-Disease` in an untyped task: the prefix is the answer, the type is decoration.
            return head if sep and kind and head in self.prefixes else None
        if up in ("O", "OUTSIDE"):
            return OUTSIDE
        if up in self._folded:
            return self._folded[up]
        head, sep, rest = up.partition("-")
        if not sep:
            head, sep, rest = up.partition("_")
        prefix = self._word(head)
        return self._folded.get(f"{prefix}-{rest}") if sep and prefix and prefix != OUTSIDE else None

    def _any_tag(self, stripped: str, up: str) -> str | None:
        """Any well-formed tag, its type kept as written (parsing with no task's tag set)."""
        word = self._word(up)
        if word is not None:
            return word
        head, sep, kind = stripped.partition("-")
        prefix = self._word(head.upper())
        return f"{prefix}-{kind}" if sep and kind and prefix and prefix != OUTSIDE else None


ANY_TAG = TagScheme((), typed=True)
