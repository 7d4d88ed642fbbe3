"""Reading a model's tagging answer as exactly one tag per input token, by position.

Real generations are messy: text before the answer, several answer blocks, ``word: tag``, ``word : B-Disease``,
``word (B)``, list bullets and numbers, explanations after a tag, missing, extra, merged or reordered lines,
unknown labels and truncated endings. The parser

1. reads every ``token SEP tag`` pair in it (several per line allowed), plus untagged words that sit
   between pairs on a line (what is left of merged lines), in order;
2. aligns that sequence of predicted words to the gold tokens **by position** with a sequence alignment
   (``difflib.SequenceMatcher`` on case-folded words) — never a dict keyed by word, which would give every
   occurrence of a repeated word the same tag — then recovers lines the model moved (among the leftovers,
   still in order of occurrence) and pairs what is left of same-length stretches of differing words one to one;
3. returns one canonical tag per token; a token with no aligned pair, or whose label is unknown, gets ``O``
   and is counted (``missing``/``invalid``), as are predicted lines no token took (``extra``).

A clean answer (one ``token : tag`` line per token, in order) takes a fast path with no alignment.
The parser knows no prompt format: the evaluator decodes only the tokens a model generated, so an echoed
prompt never reaches it, and any echoed text is just lines no token takes (counted as ``extra``).
Nothing here raises on any string: :func:`parse_tags` catches the impossible and reports it as unparsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from ...types import Parsed
from .scheme import ANY_TAG, TagScheme

_TAG = r"[A-Za-z][A-Za-z_]*(?:-[A-Za-z_]+)?"
_ONE_TAG = re.compile(_TAG)
# Every pattern starts a token only at a word boundary (line start, whitespace, or a , ; | delimiter), and the loose
# one caps a token at 100 characters (the longest in the five corpora is 37): without both, a long run of non-space
# characters costs quadratic time, as each of its positions would start a match that scans to its end.
#
# The study's own form `token : tag` (spaces around the colon) is unambiguous even when the line also holds prose
# with colons ("Answer: cancer : B"), so it is preferred unless the loose forms find more pairs in the line.
_SPACED_PAIR = re.compile(rf"(?<!\S)(?P<tok>\S+)[ \t]+:[ \t]+[(\[]?(?P<tag>{_TAG})[)\]]?(?![\w-])")
# Looser forms: `word: tag`, `word:tag`, `word -> tag`, `word = tag`, `word | tag`, `word - tag`, `word<TAB>tag`,
# `word (B)`, `word [B-Disease]`. The token part is lazy; plain `token: tag` lines never get here (see _pairs_in_line).
_LOOSE_PAIR = re.compile(
    rf"(?<![^\s,;|])(?P<tok>\S{{1,100}}?)(?:[ \t]*(?::|->|=>|=|\|)[ \t]*[(\[]?|[ \t]+[-\u2013\u2014]+[ \t]+|\t+)(?P<tag>{_TAG})[)\]]?(?![\w-])"
    rf"|(?<![^\s,;|])(?P<ptok>\S{{1,100}}?)[ \t]*[(\[](?P<ptag>{_TAG})[)\]](?![\w-])"
)
# A list marker in front of a pair ("- word : O", "3. word : O"), but not the token "-" of "- : O".
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*\u2022+]|\d{1,4}[.)])[ \t]+(?=\S+[ \t]*(?::|->|=|\(|\[|\t))")
_DELIMITERS = frozenset(",;|")


@dataclass
class Item:
    """One predicted word in answer order, with the raw label written after it (None: untagged)."""

    word: str
    raw: str | None


def _pairs_in_line(line: str) -> list[Item]:
    """The items of one line: its pairs, with untagged words between them; [] when the line has no pair."""
    for sep in (" : ", ":"):
        tok, found, raw = line.rpartition(sep)
        if found:
            tok, raw = tok.strip(), raw.strip()
            if _ONE_TAG.fullmatch(raw) and len(tok.split()) == 1:
                return [Item(tok, raw)]  # a plain `token : tag` or `token: tag` line, without the regex scans below
    line = _LIST_MARKER.sub("", line, count=1)
    matches = list(_SPACED_PAIR.finditer(line))
    loose = list(_LOOSE_PAIR.finditer(line))
    if len(loose) > len(matches):
        matches = loose  # e.g. "a (O) b (B) : (O)": one spaced colon, but the line is in the paren form
    if not matches:
        return []
    items: list[Item] = []
    pos = 0
    for m in matches:
        for word in line[pos : m.start()].split():
            if word not in _DELIMITERS:
                items.append(Item(word, None))  # a token whose own line was merged into this one
        tok = m.group("tok") or m.group("ptok")
        items.append(Item(tok, m.group("tag") or m.group("ptag")))
        pos = m.end()
    return items  # words after the last pair are an explanation, not tokens


def extract_items(answer: str, scheme: TagScheme) -> tuple[list[Item], int]:
    """All predicted items in answer order, and the number of separate answer blocks (runs of pair lines)."""
    items: list[Item] = []
    blocks = 0
    in_block = False
    bare_lines: list[list[str]] = []
    for line in answer.split("\n"):
        found = _pairs_in_line(line) if line.strip() else []
        if not found:
            words = line.split()
            if len(words) == 2 and scheme.canonical(words[1]) is not None:
                found = [Item(words[0], words[1])]  # CoNLL style `word TAG`
            else:
                if words:
                    bare_lines.append(words)
                in_block = False  # a blank or prose line ends an answer block
                continue
        if not in_block:
            blocks += 1
            in_block = True
        items.extend(found)
    if not items:
        # Tags without words ("O\nO\nB" or "O O B"): only usable by position, handled by the caller.
        tags_only = [w for words in bare_lines for w in words]
        if tags_only and all(scheme.canonical(w) is not None for w in tags_only):
            return [Item("", w) for w in tags_only], 1
    return items, blocks


def _fold(word: str) -> str:
    return word.casefold() if word.isascii() else word.casefold().replace("\u2019", "'")


def align(tokens: Sequence[str], items: Sequence[Item]) -> tuple[list[int | None], int, int]:
    """For each token, the index of the item aligned to it (or None).

    Three passes, each over what the previous left unpaired:

    1. the order-keeping alignment (``SequenceMatcher`` on folded words): runs of equal words pair up;
    2. moved lines: a token still unpaired takes a leftover item of the same word, the k-th leftover
       occurrence going to the k-th unpaired token, so repeated words still pair in order;
    3. substitutions: inside a stretch where the alignment found different words on both sides, the remaining
       tokens and items pair by position when their counts are equal (misspelt or re-tokenised words).

    Also returns how many tokens were paired by passes 3 and 2.
    """
    gold = [_fold(t) for t in tokens]
    pred = [_fold(i.word) for i in items]
    out: list[int | None] = [None] * len(tokens)
    used = [False] * len(items)
    replaced = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, gold, pred, autojunk=False).get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                out[i1 + k] = j1 + k
                used[j1 + k] = True
        elif op == "replace":
            replaced.append((i1, i2, j1, j2))
    moved = 0
    if None in out and not all(used):
        leftover: dict[str, list[int]] = {}
        for j, word in enumerate(pred):
            if not used[j]:
                leftover.setdefault(word, []).append(j)
        for i, word in enumerate(gold):
            if out[i] is None and leftover.get(word):
                j = leftover[word].pop(0)
                out[i], used[j] = j, True
                moved += 1
    substituted = 0
    for i1, i2, j1, j2 in replaced:
        free_tokens = [i for i in range(i1, i2) if out[i] is None]
        free_items = [j for j in range(j1, j2) if not used[j]]
        if free_tokens and len(free_tokens) == len(free_items):
            for i, j in zip(free_tokens, free_items, strict=True):
                out[i], used[j] = j, True
            substituted += len(free_tokens)
    return out, substituted, moved


def _fast(answer: str, tokens: Sequence[str], scheme: TagScheme) -> tuple[list[str], int] | None:
    """Tags of a clean answer — exactly one `token : label` line per token, in order — and how many labels were invalid.

    Written as whole-list operations (C-level compares, no per-line branching): gold outputs and
    well-behaved models take this path, and evaluation parses every row twice (gold and prediction).
    A label that is one unknown word ("Disease") counts as invalid here, as the full path would count it;
    anything longer ("O (not a disease)") goes to the full path, which reads the tag out of it.
    """
    lines = answer.split("\n")
    if len(lines) != len(tokens):
        lines = answer.strip().split("\n")
        if len(lines) != len(tokens):
            return None
    tokens = tokens if isinstance(tokens, list) else list(tokens)
    parts = [line.rpartition(" : ") for line in lines]
    if [p[0] for p in parts] != tokens:
        parts = [line.strip().rpartition(" : ") for line in lines]
        if [p[0].strip() for p in parts] != tokens:
            return None
    exact = scheme.exact
    tags = [exact.get(p[2]) for p in parts]
    if None not in tags:
        return tags, 0  # type: ignore[return-value]
    tags = [scheme.canonical(p[2]) for p in parts]
    invalid = 0
    for k, tag in enumerate(tags):
        if tag is None:
            if not _ONE_TAG.fullmatch(parts[k][2].strip()):
                return None
            invalid += 1
            tags[k] = "O"
    return tags, invalid  # type: ignore[return-value]


def gold_tokens(reference: str | None, input: str | None) -> list[str] | None:
    """The tokens to align to: the token parts of the gold output, else the input split on whitespace."""
    if isinstance(reference, str) and reference.strip():
        toks = [line.rpartition(" : ")[0] for line in reference.strip("\n").split("\n")]
        if " ".join(toks).split(" ") == toks and len(toks) == len(" ".join(toks).split()):
            return toks  # every token non-empty and free of whitespace, checked with two C-level splits
    if isinstance(input, str) and input.strip():
        return input.split()
    return None


def _diagnostics(n: int, **counts: int | bool) -> dict[str, int | bool]:
    return {"tokens": n, **counts}


def _clean_parse(fast: tuple[list[str], int], n: int) -> Parsed:
    tags, invalid = fast
    return Parsed(tags, True, _diagnostics(n, lines=n, aligned=n, substituted=0, moved=0, missing=0, extra=0, invalid=invalid, blocks=1))


def parse_against(text: str, tokens: Sequence[str] | None, scheme: TagScheme) -> Parsed:
    """One tag per token of ``tokens`` (or, without tokens, one per predicted pair)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if tokens is not None:
        fast = _fast(text, tokens, scheme)
        if fast is not None:
            return _clean_parse(fast, len(tokens))
    items, blocks = extract_items(text, scheme)
    if tokens is None:
        tagged = [i for i in items if i.raw is not None]
        canon = [scheme.canonical(i.raw) for i in tagged]
        invalid = sum(c is None for c in canon)
        tags = [c or "O" for c in canon]
        diag = _diagnostics(
            len(tags),
            lines=len(items),
            aligned=len(tags),
            substituted=0,
            moved=0,
            missing=0,
            extra=len(items) - len(tags),
            invalid=invalid,
            blocks=blocks,
        )
        return Parsed(tags, bool(tags), diag)
    if items and not items[0].word:
        # Bare tags: usable only when there is exactly one per token.
        if len(items) == len(tokens):
            tags = [scheme.canonical(i.raw) or "O" for i in items]
            n = len(tokens)
            return Parsed(tags, True, _diagnostics(n, lines=n, aligned=n, substituted=n, moved=0, missing=0, extra=0, invalid=0, blocks=1))
        items = []
    mapping, substituted, moved = align(tokens, items)
    tags = []
    aligned = missing = invalid = 0
    for j in mapping:
        if j is None:
            missing += 1
            tags.append("O")
            continue
        aligned += 1
        raw = items[j].raw
        tag = scheme.canonical(raw)
        if raw is None:
            missing += 1
        elif tag is None:
            invalid += 1
        tags.append(tag or "O")
    diag = _diagnostics(
        len(tokens),
        lines=len(items),
        aligned=aligned,
        substituted=substituted,
        moved=moved,
        missing=missing,
        extra=len(items) - aligned,
        invalid=invalid,
        blocks=blocks,
    )
    return Parsed(tags, aligned > 0 or not tokens, diag)


def parse_tags(text: object, input: str | None = None, reference: str | None = None, scheme: TagScheme = ANY_TAG) -> Parsed:
    """One tag per token, read from a model's answer (or a gold output); never raises, whatever ``text`` holds.

    The tokens are the token parts of ``reference`` (the gold output, when parsing a prediction), else
    ``input`` split on whitespace, else the answer's own pairs. ``scheme`` is the task's
    :class:`~medtuned_core.kits.tagging.scheme.TagScheme`; the default accepts any well-formed tag
    (``O``, ``B-Organ``, ``S-Cell``...). ``value`` is the tag list; tokens no pair aligns to, or whose label
    is not a tag, get ``O`` and are counted in ``diagnostics`` (``missing``, ``invalid``, ``extra``...).
    """
    tokens = None
    try:
        tokens = gold_tokens(reference, input)
        return parse_against(text if isinstance(text, str) else "", tokens, scheme)
    except Exception as exc:  # a bug must cost one row, never the whole evaluation
        n = len(tokens or ())
        return Parsed(["O"] * n, False, _diagnostics(n, error=True, missing=n) | {"error_message": f"{type(exc).__name__}: {exc}"})
