"""Reading answers back from free text. Every function here returns a ``Parsed`` for any string.

MedQA: the chosen option letter, from (strongest first)
  1. an explicit answer statement — ``OPTION D IS CORRECT`` (PMC-LLaMA's style), ``The answer is (B)``,
     ``Answer: B``, ``the correct option is C``, ``The answer is nitrofurantoin`` — the last one wins, so a
     text that discusses several options and then concludes is read by its conclusion;
  2. a leading letter: ``B``, ``B.``, ``(B) ...``, ``B) ...``, ``B: ...`` (our own output form ``B. text``);
  3. the text of exactly one option (from the rendered input), without its letter;
  4. exactly one weak mention such as ``option B`` or ``(B)``.
  Anything else (no option, or several with no conclusion) is unparsed.
PubMedQA: yes / no / maybe — an explicit statement (``the answer is no``), else the leading word, else
  the one decision the text mentions.
ChatDoctor / PMC-LLaMA: the text itself (unparsed only when empty); PMC-LLaMA multiple-choice rows also
  carry the chosen option.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

from medtuned_core import Parsed
from medtuned_core.labels import find_labels, fold
from medtuned_core.prompt import strip_prompt_echo

from .tasks import PUBMEDQA_LABELS

ALL_LETTERS = "ABCDEFGHIJ"
_OPTION_LINE = re.compile(r"^[\(\[]?([A-J])[.)\]]\s+(\S.*?)\s*$")

_L = r"[\(\[]?([A-Ja-j])(?![\w-])[\)\]]?"  # an option letter, maybe bracketed, standing alone
_EXPLICIT_LETTER = (
    re.compile(r"\b(?:option|choice)\s*" + _L + r"\s*(?:is|was)\s+(?:the\s+)?(?:correct|right|best)\b", re.I),
    re.compile(r"\banswer\b\s*(?:is|would\s+be|will\s+be|should\s+be|:|=|-|—)?\s*(?:option\s*|choice\s*)?" + _L, re.I),
    re.compile(r"\b(?:correct|right|best)\s+(?:option|choice)\s*(?:is|would\s+be|:|=)?\s*" + _L, re.I),
)
_EXPLICIT_TEXT = re.compile(r"\banswer\b\s*(?:is|would\s+be|:)\s*([^\n]+)", re.I)
_LEADING_LETTER = (re.compile(r"^[\(\[]?([A-J])(?:[.):\]]|\s*$|\s+[-–—]\s)"), re.compile(r"^[\(\[]?([a-j])[.)\]]"))
_WEAK_LETTER = (re.compile(r"\b(?:option|choice)\s*" + _L, re.I), re.compile(r"\(([A-J])\)"))
_MARKUP = re.compile(r"[*`_]+|\\boxed\{([^}]*)\}")

_DECISION_ALIASES = {"yes": [], "no": [], "maybe": ["uncertain", "unclear", "inconclusive"]}
_EXPLICIT_DECISION = re.compile(r"\b(?:answer|decision|conclusion|verdict)\b\s*(?:is|would\s+be|:|=|-)?\s*[\"'\(\[]?(yes|no|maybe)\b", re.I)
_LEADING_DECISION = re.compile(r"^\W*(yes|no|maybe)\b", re.I)

# PMC-LLaMA's answer form for its multiple-choice rows: "###Answer: OPTION D IS CORRECT."
PMC_OPTION_ANSWER = re.compile(r"\bOPTION\s+([A-J])\s+IS\s+CORRECT\b", re.I)


def never_raises(fn: Callable[..., Parsed]) -> Callable[..., Parsed]:
    """A last guard for the parsers' contract: a bug shows up as an unparsed row with its cause, never a crash."""

    @functools.wraps(fn)
    def guarded(*args: object, **kwargs: object) -> Parsed:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # pragma: no cover - the parsers are tested not to get here
            return Parsed(None, ok=False, diagnostics={"reason": f"parser error: {type(exc).__name__}: {exc}"})

    return guarded


def _clean(text: object) -> str:
    """The answer part of a model's text, without an echoed prompt or emphasis markup."""
    if not isinstance(text, str):
        return ""
    return _MARKUP.sub(lambda m: m.group(1) or "", strip_prompt_echo(text)).strip()


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
    """A lower-case letter counts only where it cannot be the article "a" or a word: "(b)", "b.", "b" at the end."""
    letter = m.group(1)
    if letter.isupper():
        return True
    before, after = text[m.start(1) - 1 : m.start(1)], text[m.end(1) : m.end(1) + 1]
    return before in "([" and before != "" or after in ("", ".", ")", "]", ":", ";", ",")


def _mentioned_options(text: str, options: Mapping[str, str]) -> list[str]:
    """Letters of the options whose text ``text`` mentions (whole words; a longer overlapping option wins).

    Options with no letters or digits ("↓ ↑ ↓") cannot be found as words; only an exact answer matches them.
    """
    by_text = {option: letter for letter, option in options.items() if fold(option).strip()}
    return [by_text[o] for o in find_labels(text, {o: [] for o in by_text})]


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).rstrip(".").casefold() == " ".join(b.split()).rstrip(".").casefold()


@never_raises
def parse_option(text: str, options: Mapping[str, str] | None = None) -> Parsed:
    """The option letter a MedQA-style answer chooses (see the module docstring for the order of rules)."""
    clean = _clean(text)
    valid = set(options) if options else set(ALL_LETTERS)
    if not clean:
        return Parsed(None, ok=False, diagnostics={"reason": "empty"})

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
        return Parsed(None, ok=False, diagnostics={"reason": f"answer {', '.join(impossible)} is not among the options {''.join(sorted(valid))}"})

    for pattern in _LEADING_LETTER:
        m = pattern.match(clean)
        if m and m.group(1).upper() in valid:
            return Parsed(m.group(1).upper(), diagnostics={"rule": "leading letter"})

    if options:
        named = [letter for letter, option in options.items() if _same_text(clean, option)] or _mentioned_options(clean, options)
        if len(named) == 1:
            return Parsed(named[0], diagnostics={"rule": "option text"})
        if len(named) > 1:
            return Parsed(None, ok=False, diagnostics={"reason": f"several options named ({', '.join(named)}) and no final answer"})

    weak = []
    for pattern in _WEAK_LETTER:
        weak += [m.group(1).upper() for m in pattern.finditer(clean) if _letter_ok(clean, m) and m.group(1).upper() in valid]
    if len(set(weak)) == 1:
        return Parsed(weak[0], diagnostics={"rule": "single mention"})
    reason = f"several options mentioned ({', '.join(sorted(set(weak)))}) and no final answer" if weak else "no option found"
    return Parsed(None, ok=False, diagnostics={"reason": reason})


@never_raises
def parse_decision(text: str) -> Parsed:
    """yes / no / maybe from a PubMedQA-style answer."""
    clean = _clean(text)
    explicit = list(_EXPLICIT_DECISION.finditer(clean))
    if explicit:
        return Parsed(explicit[-1].group(1).lower(), diagnostics={"rule": "explicit"})
    m = _LEADING_DECISION.match(clean)
    if m:
        return Parsed(m.group(1).lower(), diagnostics={"rule": "leading word"})
    found = find_labels(clean, _DECISION_ALIASES)
    if len(found) == 1:
        return Parsed(found[0], diagnostics={"rule": "single mention"})
    reason = f"several decisions mentioned ({', '.join(found)})" if found else "no yes/no/maybe found"
    return Parsed(None, ok=False, diagnostics={"reason": reason, "labels": list(PUBMEDQA_LABELS)})


@never_raises
def parse_free_text(text: str) -> Parsed:
    """A free-text answer as it is; only an empty one is unparsed (ROUGE scores it 0)."""
    clean = text.strip() if isinstance(text, str) else ""
    return Parsed(clean) if clean else Parsed(None, ok=False, diagnostics={"reason": "empty"})


@never_raises
def parse_pmc_llama(text: str, input: str | None, reference: str | None) -> Parsed:
    """``{"text", "option"}``: the free text, and on multiple-choice rows the option chosen.

    Parsing a gold output (``reference`` is None), the option is the release's ``OPTION X IS CORRECT``;
    parsing a prediction, it is read with the MedQA rules whenever the gold row is multiple-choice.
    """
    free = parse_free_text(text)
    if not free.ok:
        return free
    option = None
    if reference is None:
        found = PMC_OPTION_ANSWER.findall(free.value)
        option = found[-1].upper() if found else None
    elif isinstance(reference, str) and PMC_OPTION_ANSWER.search(reference):
        option = parse_option(free.value, options_from_input(input) or None).value
    return Parsed({"text": free.value, "option": option})
