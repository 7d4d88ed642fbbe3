"""Reading labels back from free text: one label, a label set, or a lettered option. No function here raises.

The one ``unparsed`` convention of every kit parser: an answer that cannot be read is
``Parsed(None, ok=False, diagnostics={"reason": ...})`` (:func:`unparsed`); it is never mapped to a class.
Scorers count it wrong (see :mod:`.score`) and the core counts it in ``unparsed``.

Answers are first cleaned (:func:`clean_answer`): ``*``/`` ` ``/``_`` emphasis and ``\\boxed{}`` are removed
(no prompt echo is stripped: backends return only the new text). Then:

* :func:`parse_label` — the first label mentioned (RE, NLI: models answer first and explain after);
* :func:`parse_answer` — an answer *statement* ("The answer is: maybe", "Final decision: YES"), the last
  one winning; else a leading label ("Yes, ..."); else the one label the text mentions (PubMedQA);
* :func:`parse_label_set` — every label mentioned, by name or by code ("(IM)", "IM"), with an exclusive
  "none" label (HoC);
* :func:`parse_choice` — the option letter of a multiple-choice answer, by letter or by option text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...types import Parsed
from .find import find_labels, fold

ALL_LETTERS = "ABCDEFGHIJ"
_MARKUP = re.compile(r"[*`_]+|\\boxed\{([^}]*)\}")

# The parts of an answer statement: "answer", then "is"/"would be"..., then ":", "=", a dash, then quotes or a bracket.
_VERB = r"(?:\s*\b(?:is|was|would\s+be|will\s+be|should\s+be|must\s+be)\b)?"
_SEP = r"\s*[:=\-–—]?\s*"
_OPEN = r"[\"'“‘«(\[]?\s*"
_QUOTES = "\"'“”‘’«»"


def unparsed(reason: str, **diagnostics: Any) -> Parsed:
    """The kits' one form of an answer that could not be read."""
    return Parsed(None, ok=False, diagnostics={"reason": reason, **diagnostics})


def never_raises(fn: Callable[..., Parsed]) -> Callable[..., Parsed]:
    """A last guard for the parsers' contract: a bug shows up as an unparsed row with its cause, never a crash."""

    @functools.wraps(fn)
    def guarded(*args: object, **kwargs: object) -> Parsed:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # pragma: no cover - the parsers are tested not to get here
            return unparsed(f"parser error: {type(exc).__name__}: {exc}")

    return guarded


def clean_answer(text: object) -> str:
    """A model's answer without emphasis markup ("" for a non-string)."""
    if not isinstance(text, str):
        return ""
    return _MARKUP.sub(lambda m: m.group(1) or "", text).strip()


def _found(found: Sequence[str]) -> Parsed:
    if not found:
        return unparsed("no label mentioned")
    return Parsed(found[0], ok=True, diagnostics={"mentioned": list(found)} if len(found) > 1 else {})


# -- one label -------------------------------------------------------------------------------------------


@never_raises
def parse_label(text: str, aliases: Mapping[str, Sequence[str]]) -> Parsed:
    """The first label ``text`` mentions (whole words, case and punctuation ignored; see :func:`find_labels`)."""
    return _found(find_labels(text, aliases) if isinstance(text, str) else [])


@functools.lru_cache(maxsize=64)
def _statement_patterns(key: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    by_alias = {fold(a).strip(): label for label, names in key for a in (label, *names) if fold(a).strip()}
    words = "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in sorted(by_alias, key=len, reverse=True))
    lead = r"\b(?:answer|decision|conclusion|verdict)\b(?:\s+to\s+(?:the|this)\s+question)?"
    explicit = re.compile(lead + _VERB + _SEP + _OPEN + rf"({words})\b", re.I)
    leading = re.compile(rf"^\W*({words})\b", re.I)
    return explicit, leading, by_alias


@never_raises
def parse_answer(text: str, aliases: Mapping[str, Sequence[str]]) -> Parsed:
    """A closed answer (yes / no / maybe...) by the statement rule: the last answer statement, else a leading
    label, else the single label mentioned; several labels and no statement is unparsed."""
    clean = clean_answer(text)
    key = tuple((label, tuple(names)) for label, names in aliases.items())
    explicit, leading, by_alias = _statement_patterns(key)
    statements = list(explicit.finditer(clean))
    if statements:
        return Parsed(by_alias[fold(statements[-1].group(1)).strip()], diagnostics={"rule": "explicit"})
    m = leading.match(clean)
    if m:
        return Parsed(by_alias[fold(m.group(1)).strip()], diagnostics={"rule": "leading word"})
    found = find_labels(clean, aliases)
    if len(found) == 1:
        return Parsed(found[0], diagnostics={"rule": "single mention"})
    reason = f"several labels mentioned ({', '.join(found)})" if found else f"no {'/'.join(aliases)} found"
    return unparsed(reason)


# -- a set of labels ---------------------------------------------------------------------------------------

_LIST_SEPARATORS = re.compile(r"[\s,;/+&.]+|\band\b")


@functools.lru_cache(maxsize=16)
def _code_patterns(codes: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    alternatives = "|".join(re.escape(c) for c in sorted((c for c, _ in codes), key=len, reverse=True))
    bracketed = re.compile(rf"[(\[]\s*({alternatives})\s*[)\]]", re.IGNORECASE)
    long_codes = [re.escape(c) for c, _ in codes if len(c) > 1]
    bare = re.compile(rf"(?<![A-Za-z0-9])({'|'.join(long_codes)})(?![A-Za-z0-9])") if long_codes else None
    return bracketed, bare


def find_codes(text: str, codes: Mapping[str, str]) -> set[str]:
    """Labels named by their code: in brackets in any case ("(IM)", "(im)"), or bare in upper case ("IM") unless
    the code is one letter; an answer made only of codes ("A, IM") counts them all. A one-letter code in
    lower case in brackets ("(a)") is an enumeration, not a code."""
    bracketed, bare = _code_patterns(tuple(codes.items()))
    upper = {c.upper(): label for c, label in codes.items()}
    found = {upper[m.group(1).upper()] for m in bracketed.finditer(text) if len(m.group(1)) > 1 or m.group(1).isupper()}
    if bare is not None:
        found |= {codes[m.group(1)] for m in bare.finditer(text)}
    tokens = [t for t in _LIST_SEPARATORS.split(text) if t]
    if tokens and all(t in codes for t in tokens):
        found |= {codes[t] for t in tokens}
    return found


@never_raises
def parse_label_set(
    text: str,
    aliases: Mapping[str, Sequence[str]],
    reference: str | None = None,
    *,
    codes: Mapping[str, str] | None = None,
    none: str | None = None,
) -> Parsed:
    """Every label ``text`` names (by alias or by code), as a sorted list.

    ``none`` is the label meaning "no label": named together with others it is dropped. An empty answer is
    the empty set when it is the gold (``reference`` is None) or when the gold itself is empty; anywhere
    else it is unparsed, like text that names no label.
    """
    if not isinstance(text, str) or not text.strip():
        if reference is None or (isinstance(reference, str) and not reference.strip()):
            return Parsed([], ok=True, diagnostics={"empty": True})
        return unparsed("empty answer")
    found = set(find_labels(text, aliases)) | (find_codes(text, codes) if codes else set())
    if not found:
        return unparsed("no label mentioned")
    if none is not None and none in found and len(found) > 1:
        return Parsed(sorted(found - {none}), ok=True, diagnostics={"none_dropped": True})
    return Parsed(sorted(found), ok=True)


# -- a lettered option -------------------------------------------------------------------------------------

_OPTION_LINE = re.compile(r"^[\(\[]?([A-J])[.)\]]\s+(\S.*?)\s*$")
_L = r"[\"'“‘]?[\(\[]?([A-Ja-j])(?![\w-])[\)\]]?"  # an option letter, maybe quoted or bracketed, standing alone
_EXPLICIT_LETTER = (
    re.compile(r"\b(?:option|choice)\s*" + _L + r"\s*(?:is|was)\s+(?:the\s+)?(?:correct|right|best)\b", re.I),
    re.compile(r"\banswer\b" + _VERB + _SEP + r"(?:option\s*|choice\s*)?" + _L, re.I),
    re.compile(r"\b(?:correct|right|best)\s+(?:option|choice)" + _VERB + _SEP + _L, re.I),
)
_EXPLICIT_TEXT = re.compile(r"\banswer\b\s*(?:(?:is|would\s+be|will\s+be|should\s+be)\s*:?|:)\s*([^\n]+)", re.I)
_LEADING_LETTER = (re.compile(r"^[\(\[]?([A-J])(?:[.):\]]|\s*$|\s+[-–—]\s)"), re.compile(r"^[\(\[]?([a-j])[.)\]]"))
_WEAK_LETTER = (re.compile(r"\b(?:option|choice)\s*" + _L, re.I), re.compile(r"\(([A-J])\)"))


def option_line(letter: str, text: str) -> str:
    """One option on one line, ``"B. text"`` (line breaks inside an option would split it when read back)."""
    return f"{letter}. {' '.join(text.split())}"


def options_from_input(input: str | None) -> dict[str, str]:
    """The lettered options at the end of a rendered input (``A. text`` lines, from A on)."""
    if not isinstance(input, str):
        return {}
    tail: list[tuple[str, str]] = []
    for line in reversed(input.rstrip().splitlines()):
        m = _OPTION_LINE.match(line.strip())
        if not m:
            break
        tail.append((m.group(1), m.group(2)))
    tail.reverse()
    letters = "".join(letter for letter, _ in tail)
    for start in range(len(tail)):
        if letters[start:] == ALL_LETTERS[: len(tail) - start] and len(tail) - start >= 2:
            return dict(tail[start:])
    return {}


def _letter_ok(text: str, m: re.Match[str]) -> bool:
    """A lower-case letter counts only where it cannot be the article "a" or a word: "(b)", "'b'", "b.", "b" at the end."""
    if m.group(1).isupper():
        return True
    before, after = text[m.start(1) - 1 : m.start(1)], text[m.end(1) : m.end(1) + 1]
    return (before != "" and before in "([" + _QUOTES) or after in ("", ".", ")", "]", ":", ";", ",", *_QUOTES)


def _mentioned_options(text: str, options: Mapping[str, str]) -> list[str]:
    """Letters of the options whose text ``text`` mentions (whole words; a longer overlapping option wins).

    Options with no letters or digits ("↓ ↑ ↓") cannot be found as words; only an exact answer matches them.
    """
    by_text = {option: letter for letter, option in options.items() if fold(option).strip()}
    return [by_text[o] for o in find_labels(text, {o: [] for o in by_text})]


def _same_text(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return " ".join(s.split()).rstrip(".").strip(_QUOTES).rstrip(".").casefold()

    return norm(a) == norm(b)


@never_raises
def parse_choice(text: str, options: Mapping[str, str] | None = None) -> Parsed:
    """The option letter a multiple-choice answer chooses, by the first rule that applies:

    1. an explicit answer statement — ``OPTION D IS CORRECT``, ``The answer is: (B)``, ``The answer is "C"``,
       ``Answer: b``, ``the correct option is C``, ``The answer is nitrofurantoin`` — the last one winning;
       a stated letter that is not an option makes the answer unparsed;
    2. a leading letter: ``B``, ``B.``, ``(B) ...``, ``B) ...``, ``B: ...``;
    3. the text of exactly one option, without its letter (needs ``options``);
    4. exactly one weak mention such as ``option B`` or ``(B)``.

    Without ``options`` (the rendered input had none) the letters A-J are possible and rule 3 is skipped.
    """
    clean = clean_answer(text)
    valid = set(options) if options else set(ALL_LETTERS)
    if not clean:
        return unparsed("empty")

    letters = [(m.start(), m.group(1).upper()) for pattern in _EXPLICIT_LETTER for m in pattern.finditer(clean) if _letter_ok(clean, m)]
    explicit = [(pos, letter) for pos, letter in letters if letter in valid]
    impossible = sorted({letter for _, letter in letters if letter not in valid})
    if options:
        letter_at = {pos for pos, _ in explicit}
        for m in _EXPLICIT_TEXT.finditer(clean):
            if m.start() in letter_at:
                continue  # "Answer: B. ..." already read by its letter
            clause = re.split(r"(?<=[.!?])\s", m.group(1), maxsplit=1)[0]
            named = [letter for letter, option in options.items() if _same_text(clause, option)] or _mentioned_options(clause, options)
            if len(named) == 1:
                explicit.append((m.start(), named[0]))
    if explicit:
        return Parsed(max(explicit)[1], diagnostics={"rule": "explicit"})
    if impossible:
        return unparsed(f"answer {', '.join(impossible)} is not among the options {''.join(sorted(valid))}")

    for pattern in _LEADING_LETTER:
        m = pattern.match(clean)
        if m and m.group(1).upper() in valid:
            return Parsed(m.group(1).upper(), diagnostics={"rule": "leading letter"})

    if options:
        named = [letter for letter, option in options.items() if _same_text(clean, option)] or _mentioned_options(clean, options)
        if len(named) == 1:
            return Parsed(named[0], diagnostics={"rule": "option text"})
        if len(named) > 1:
            return unparsed(f"several options named ({', '.join(named)}) and no final answer")

    weak = []
    for pattern in _WEAK_LETTER:
        weak += [m.group(1).upper() for m in pattern.finditer(clean) if _letter_ok(clean, m) and m.group(1).upper() in valid]
    if len(set(weak)) == 1:
        return Parsed(weak[0], diagnostics={"rule": "single mention"})
    return unparsed(f"several options mentioned ({', '.join(sorted(set(weak)))}) and no final answer" if weak else "no option found")
