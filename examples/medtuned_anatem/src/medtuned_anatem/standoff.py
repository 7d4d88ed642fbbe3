"""Reading BRAT standoff annotation: a ``.txt`` document beside a ``.ann`` file of character-offset spans.

An ``.ann`` line per annotation, tab-separated: ``T3<TAB>Organ 102 107<TAB>liver`` (a text-bound
entity; offsets count Unicode characters of the ``.txt``, end exclusive). A discontinuous mention
lists fragments, ``Organ 10 15;20 25``, and its text is the fragments joined by one space. Other
annotation kinds (relations ``R``, events ``E``, attributes ``A``/``M``, normalisations ``N``, notes
``#``, equivalences ``*``) carry no spans of their own and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from medtuned_core import io
from medtuned_core.corpus import numbered_lines
from medtuned_core.errors import CorpusFormatError

_TEXT_BOUND = re.compile(r"^(?P<type>\S+) (?P<spans>\d+ \d+(?:;\d+ \d+)*)$")
_SKIPPED_KINDS = ("R", "E", "A", "M", "N", "#", "*")


@dataclass(frozen=True)
class Mention:
    id: str
    type: str
    fragments: tuple[tuple[int, int], ...]  # (start, end) character offsets, end exclusive
    line: int  # where it was declared in the .ann file, for error messages

    @property
    def start(self) -> int:
        return self.fragments[0][0]

    @property
    def end(self) -> int:
        return self.fragments[-1][1]


def read_text(path: Path) -> str:
    """The document exactly as offsets count it: no newline translation (a CRLF is two characters). Read through
    the core's I/O layer, so a missing, unreadable, binary or non-UTF-8 file is one line naming it."""
    return io.decode(path, io.read_bytes(path))


def read_mentions(ann: Path, text: str) -> list[Mention]:
    """Every text-bound mention of ``ann``, each checked against the document ``text``."""
    mentions = []
    for lineno, line in numbered_lines(ann):
        if not line.strip():
            continue
        ident, _, rest = line.partition("\t")
        if ident.startswith(_SKIPPED_KINDS):
            continue
        if not ident.startswith("T"):
            raise CorpusFormatError(ann, lineno, f"unknown annotation id {ident!r} (expected T, R, E, A, M, N, # or *)")
        body, tab, quoted = rest.partition("\t")
        match = _TEXT_BOUND.match(body)
        if not tab or match is None:
            raise CorpusFormatError(ann, lineno, f"expected 'T<n><TAB><type> <start> <end>[;<start> <end>]<TAB><text>', got {io.excerpt(line)}")
        fragments = tuple(tuple(int(n) for n in span.split()) for span in match["spans"].split(";"))
        previous_end = 0
        for start, end in fragments:
            if not previous_end <= start < end <= len(text):
                raise CorpusFormatError(ann, lineno, f"span {start}-{end} is empty, out of order or beyond the {len(text)} characters of the .txt")
            previous_end = end
        covered = " ".join(text[start:end] for start, end in fragments)
        if covered != quoted:
            raise CorpusFormatError(ann, lineno, f"offsets read {covered!r} in the .txt but the annotation says {io.excerpt(quoted)}")
        mentions.append(Mention(ident, match["type"], fragments, lineno))
    return mentions
