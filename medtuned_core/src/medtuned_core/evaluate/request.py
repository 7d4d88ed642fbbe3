"""What the evaluator hands a backend: one rendered row, already in the run's prompt format.

A ``Request`` carries the same turn twice — as the flat ``prompt`` text a local model continues, and as
chat ``messages`` for backends that apply a chat template themselves (a hosted API, a server) — so a
backend never formats prompts on its own. ``method`` is what the evaluator chose for the row from the
task's hints and the backend's capabilities (see ``backend.CAPABILITIES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .constrained import TaggingHint
from .generate import DEFAULT_MAX_NEW_TOKENS

GENERATE, TAG, RANK = "generate", "tag", "rank"


def user_message(instruction: str, input: str) -> list[dict[str, str]]:
    """The chat form of a row: instruction and input in one user turn (the answer is the assistant's turn)."""
    content = instruction.strip("\n") + ("\n\n" + input if input else "")
    return [{"role": "user", "content": content}]


@dataclass
class Request:
    """One row on its way to a model."""

    row: Mapping[str, Any]  # the rendered row (instruction, input, output, task, id, hints)
    prompt: str  # the text the model continues, in the run's prompt format
    messages: list[dict[str, str]] = field(default_factory=list)  # the same turn as chat messages
    method: str = GENERATE  # generate | tag | rank
    hint: TaggingHint | None = None  # tag: the answer's form, labels to choose
    choices: list[str] | None = None  # rank: the complete answers to choose from
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS  # generate: the budget for this row
