"""What the evaluator hands a backend: one rendered row, already in the run's prompt format.

A ``Request`` carries the same turn twice — as the flat ``prompt`` text a local model continues (in the
run's format: Alpaca, or the chat template applied), and as chat ``messages`` (system prompt if any, then
the user turn) for backends that apply a chat template themselves (a hosted API, a server) — and the
``format`` itself, which says how prompts are encoded and where an answer ends, so a backend never formats
prompts on its own. ``method`` is what the evaluator chose for the row from the
task's hints and the backend's capabilities (see ``backend.CAPABILITIES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..prompt import ALPACA_FORMAT, PromptFormat
from .constrained import TaggingHint
from .generate import DEFAULT_MAX_NEW_TOKENS

GENERATE, TAG, RANK = "generate", "tag", "rank"


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
    format: PromptFormat = ALPACA_FORMAT  # how ``prompt`` is encoded, and the tokens/strings that end an answer

    @classmethod
    def for_row(cls, row: Mapping[str, Any], fmt: PromptFormat, **kwargs: Any) -> Request:
        """A request for a rendered row, its prompt and messages built by ``fmt``."""
        return cls(row, fmt.prompt(row["instruction"], row["input"]), fmt.messages(row["instruction"], row["input"]), format=fmt, **kwargs)
