"""An optional second plugin that overrides ONE hook of the ``anatem`` task: a strict-format parser.

The default parser recovers what it can from messy answers. To measure instead how often a model
follows the answer format exactly, register this module as well: its ``medtuned_parse_output`` is
marked ``tryfirst``, so pluggy calls it before the default one, and because the hook is
``firstresult`` its answer is the one used; the task's loader, renderer and scorer are unchanged.
It is not an entry point of this distribution (that would switch it on for everyone); enable it
from your own distribution's entry points, e.g. ``anatem-strict = "medtuned_anatem.strict"``, or
pass it to ``make_registry``.
"""

from __future__ import annotations

from medtuned_core import Parsed, TaskInfo, hookimpl

from .tasks import LABELS, TASKS

_LABELS = frozenset(LABELS)


@hookimpl(tryfirst=True)
def medtuned_parse_output(task: TaskInfo, text: str, input: str | None, reference: str | None) -> Parsed | None:
    if task.name not in TASKS:
        return None  # not ours: the next implementation answers
    # Exactly one "token : label" line per input token, in order, with a label from the set; only
    # surrounding whitespace is forgiven.
    lines = [line.rpartition(" : ") for line in text.strip().split("\n")]
    words = input.split(" ") if input else [token for token, _, _ in lines]
    exact = len(lines) == len(words) and all(sep and token == word and label in _LABELS for (token, sep, label), word in zip(lines, words, strict=True))
    if not exact:
        return Parsed(["O"] * len(words), ok=False, diagnostics={"format": "not exactly one 'token : label' line per input token"})
    return Parsed([label for _, _, label in lines], diagnostics={"format": "exact"})
