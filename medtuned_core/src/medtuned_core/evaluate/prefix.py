"""Shared instruction prefixes: the KV entries of each instruction are computed once per run.

Every prompt starts with its instruction block — everything before the row's input, as the prompt
format defines it (Alpaca: the instruction and input headers around the instruction; chat: the template's
opening, the system turn and the instruction) — and a task has only a handful of instructions, so most
of a prompt's tokens recur in many rows. Each distinct instruction block is run once as a batch of one
and kept; a batch is then assembled from the blocks of its rows — of different lengths, padded with
masked slots (engine.py) — so rows of different templates
still share one batch, which can then be ordered by length alone.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import torch

from ..prompt import ALPACA_FORMAT, PromptFormat
from .engine import CachedBatch, extend, stack_prefixes

MIN_SHARED = 8  # below this a shared prefix saves less than it costs to assemble


def common_prefix_length(seqs: Sequence[Sequence[int]]) -> int:
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for i in range(n):
        token = first[i]
        if any(s[i] != token for s in seqs):
            return i
    return n


def instruction_block(prompt: str, fmt: PromptFormat = ALPACA_FORMAT) -> str:
    """The part of ``prompt`` before the row's input (empty when the prompt has no input)."""
    return fmt.instruction_block(prompt)


class PrefixCache:
    """Instruction blocks already run (a KV cache of one row each), most recently used kept."""

    def __init__(self, capacity: int = 32, enabled: bool = True) -> None:
        self.capacity = capacity
        self.enabled = enabled
        self._store: OrderedDict[tuple[int, ...], CachedBatch] = OrderedDict()
        self._block_ids: dict[tuple[bool, str], list[int]] = {}
        self.tokens_saved = 0

    def shared_lengths(self, tokenizer: Any, prompts: Sequence[str], prompt_ids: Sequence[Sequence[int]], fmt: PromptFormat = ALPACA_FORMAT) -> list[int]:
        """How many leading tokens of each prompt come from its instruction block.

        The block is encoded on its own and compared with the prompt's ids, so a tokenizer that merges
        across the block's end only shortens the shared part. At least one prompt token is left out, so
        every row feeds something and has a hidden state to predict its first answer token from."""
        if not self.enabled:
            return [0] * len(prompts)
        out = []
        for prompt, ids in zip(prompts, prompt_ids, strict=True):
            key = (fmt.add_special_tokens, fmt.instruction_block(prompt))
            if key not in self._block_ids:
                self._block_ids[key] = list(tokenizer(key[1], add_special_tokens=key[0])["input_ids"]) if key[1] else []
            n = min(common_prefix_length([self._block_ids[key], ids]), len(ids) - 1)
            out.append(n if n >= MIN_SHARED else 0)
        return out

    def batch_state(self, model: torch.nn.Module, prompt_ids: Sequence[Sequence[int]], shared: Sequence[int]) -> CachedBatch:
        """A batch whose row ``r`` already holds the first ``shared[r]`` tokens of its prompt."""
        parts: list[CachedBatch | None] = []
        for ids, n in zip(prompt_ids, shared, strict=True):
            if n <= 0:
                parts.append(None)
                continue
            key = tuple(ids[:n])
            prefix = self._store.get(key)
            if prefix is None:
                prefix = CachedBatch.empty(model, 1)
                extend(model, prefix, [list(key)])
                self._store[key] = prefix
                while len(self._store) > self.capacity:
                    self._store.popitem(last=False)
            else:
                self.tokens_saved += n
                self._store.move_to_end(key)
            parts.append(prefix)
        return stack_prefixes(model, parts)
