"""AnatEM documents (BRAT standoff) to sentences of tokens with BIO tags.

Each document is split into sentences, each sentence into tokens, and every mention's character
span becomes B-/I- tags on the tokens it covers. Three choices make the conversion exact:

* tokens are runs of letters/digits or single punctuation marks, and are also cut at every mention
  boundary, so a mention that starts or ends inside a word (an annotator marking "neuron" within
  "neurons", say) still covers whole tokens;
* sentences end at a newline, or after ``.``/``!``/``?`` followed by space and a capital, digit or
  bracket, never inside a mention and never after a known abbreviation or a single initial;
* BIO cannot nest, so where mentions overlap the longest is kept (the earlier one on a tie) and the
  others are dropped; a discontinuous mention is tagged over its whole extent, gap included.
  Both repairs are counted and reported in one warning per split.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medtuned_core.corpus import SPLIT_ALIASES, MissingSplitError
from medtuned_core.errors import CorpusFormatError

from .standoff import Mention, read_mentions, read_text
from .tasks import ENTITY_TYPES

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s+[A-Z0-9(\[])")
_LINE_END = re.compile(r"\r\n|\n|\r")
_WORD_BEFORE = re.compile(r"[^\s(\[\"']*$")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "fig", "figs", "al", "vs", "cf", "approx", "ca", "no", "ref", "refs", "resp", "dr", "sp", "spp"})


@dataclass
class RepairCounts:
    overlapping_dropped: int = 0
    discontinuous_joined: int = 0


def split_folder(task: str, root: Path, split: str) -> Path:
    """``root/standoff/<alias>`` as in the AnatEM release, or ``root/<alias>``; ``devel`` is validation."""
    tried = []
    for alias in SPLIT_ALIASES.get(split, (split,)):
        for folder in (root / "standoff" / alias, root / alias):
            if folder.is_dir():
                return folder
            tried.append(str(folder.relative_to(root)))
    raise MissingSplitError(task, root / tried[0], f"No folder for split {split!r}; looked for: {', '.join(tried)}.")


def read_split(folder: Path) -> Iterator[dict[str, Any]]:
    """The sentences of every document in ``folder`` (file-name order), as examples with a unique ``id``."""
    documents = sorted(folder.glob("*.txt"))
    if not documents:
        raise CorpusFormatError(folder, None, "no .txt documents (with .ann annotation files beside them) in this folder")
    repairs = RepairCounts()
    for txt in documents:
        yield from read_document(txt, repairs)
    if repairs.overlapping_dropped or repairs.discontinuous_joined:
        warnings.warn(
            f"{folder}: {repairs.overlapping_dropped} overlapping mention(s) dropped (BIO keeps the longest) and "
            f"{repairs.discontinuous_joined} discontinuous mention(s) tagged over their whole extent",
            stacklevel=2,
        )


def read_document(txt: Path, repairs: RepairCounts) -> Iterator[dict[str, Any]]:
    ann = txt.with_suffix(".ann")
    if not ann.is_file():
        raise CorpusFormatError(txt, None, f"no annotation file {ann.name} beside this document")
    text = read_text(txt)
    mentions = _flat_mentions(ann, read_mentions(ann, text), repairs)
    for n, (start, end) in enumerate(_sentences(text, mentions), 1):
        inside = [m for m in mentions if start <= m.start and m.end <= end]
        tokens = _tokens(text, start, end, sorted({offset for m in inside for offset in (m.start, m.end)}))
        if not tokens:
            continue  # a blank line
        tags = ["O"] * len(tokens)
        for m in inside:
            covered = [i for i, (_, s, e) in enumerate(tokens) if m.start <= s and e <= m.end]
            if not covered:
                raise CorpusFormatError(ann, m.line, f"mention {m.id} covers no token (only spaces)")
            for k, i in enumerate(covered):
                tags[i] = f"{'B' if k == 0 else 'I'}-{m.type}"
        yield {"id": f"{txt.stem}:{n}", "document": txt.stem, "tokens": [t for t, _, _ in tokens], "tags": tags}


def _flat_mentions(ann: Path, mentions: list[Mention], repairs: RepairCounts) -> list[Mention]:
    """Known types only; overlaps resolved to the longest mention so the tags stay flat."""
    for m in mentions:
        if m.type not in ENTITY_TYPES:
            raise CorpusFormatError(ann, m.line, f"unknown entity type {m.type!r} (AnatEM types: {', '.join(ENTITY_TYPES)})")
        if len(m.fragments) > 1:
            repairs.discontinuous_joined += 1
    kept: list[Mention] = []
    for m in sorted(mentions, key=lambda m: (-(m.end - m.start), m.start)):
        if any(m.start < k.end and k.start < m.end for k in kept):
            repairs.overlapping_dropped += 1
            continue
        kept.append(m)
    return sorted(kept, key=lambda m: m.start)


def _sentences(text: str, mentions: list[Mention]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` character spans of the sentences of ``text``; no sentence ends inside a mention."""
    ends = {hit.end() for hit in _LINE_END.finditer(text)}
    ends.update(hit.end() for hit in _SENTENCE_END.finditer(text) if not _after_abbreviation(text, hit.start()))
    start = 0
    for end in sorted(ends | {len(text)}):
        if end > start and not any(m.start < end < m.end for m in mentions):
            yield start, end
            start = end


def _after_abbreviation(text: str, period: int) -> bool:
    """Whether the full stop at ``period`` ends an abbreviation ("e.g.", "Fig.", "et al.") or an initial ("J.")."""
    word = _WORD_BEFORE.search(text, max(0, period - 40), period)[0].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _tokens(text: str, start: int, end: int, cuts: list[int]) -> list[tuple[str, int, int]]:
    """``(token, start, end)`` in ``text[start:end]``, each token also cut at the mention boundaries (sorted ``cuts``) inside it."""
    out = []
    for match in _TOKEN.finditer(text, start, end):
        s, e = match.span()
        points = [s, *(c for c in cuts if s < c < e), e]
        out.extend((text[a:b], a, b) for a, b in itertools.pairwise(points))
    return out
