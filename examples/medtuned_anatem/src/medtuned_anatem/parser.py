"""Model answers ("token : label" lines, more or less) to one BIO tag per input token. Never raises.

Real generations wrap the answer in chatter, echo the prompt, bullet or number the lines, write
``word: b-organ`` or ``word : (B-Organ)``, drop, add, merge or reorder lines. Lines are read loosely,
then aligned to the input tokens by position with a diff over the words (never a dict keyed on the
word: sentences repeat words with different tags). Tokens no line aligns to are tagged O; labels
outside the label set count as invalid and are tagged O too.
"""

from __future__ import annotations

import difflib
import re

from medtuned_core import Parsed

from .tasks import LABELS

OUTPUT_MARKER = "### Output:"
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_LABEL_BY_FOLDED = {label.lower(): label for label in LABELS}


def answer_lines(text: str) -> list[tuple[str, str]]:
    """``(token, label)`` from every line shaped like ``token : label``, after the last echoed output marker."""
    if OUTPUT_MARKER in text:
        text = text.rsplit(OUTPUT_MARKER, 1)[1]
    text = text.split("\n###", 1)[0]  # a following prompt block is not part of the answer
    pairs = []
    for line in text.splitlines():
        token, sep, label = _BULLET.sub("", line).rpartition(":")
        token = token.strip()
        if sep and token:
            pairs.append((token, label.strip().strip("()[]{}*`'\".,;").strip()))
    return pairs


def canonical_label(label: str) -> str | None:
    return _LABEL_BY_FOLDED.get(label.lower())


def parse_tags(text: str, input: str | None) -> Parsed:
    pairs = answer_lines(text)
    words = input.split(" ") if input else [token for token, _ in pairs]
    tags, aligned, invalid = ["O"] * len(words), 0, 0
    matcher = difflib.SequenceMatcher(None, words, [token for token, _ in pairs], autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            label = canonical_label(pairs[block.b + k][1])
            if label is None:
                invalid += 1
            else:
                tags[block.a + k] = label
                aligned += 1
    matched = aligned + invalid
    diagnostics = {"aligned": aligned, "invalid": invalid, "missing": len(words) - matched, "extra": len(pairs) - matched}
    return Parsed(tags, ok=matched > 0, diagnostics=diagnostics)
