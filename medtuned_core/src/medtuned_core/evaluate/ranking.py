"""Score-mode classification: rank a row's complete output strings by log-likelihood.

A render hook that emits ``"choices": [...]`` promises that the gold output is one of them (GAD's
Positive/Negative, MedNLI's three relations, a QA option...). Each choice is scored as the log
probability of its tokens *and the tokens that end an answer* after the prompt (EOS in the Alpaca
format, the chat template's end of turn) — the probability that the model writes exactly that answer
and stops, so "yes" does not win merely by being a prefix of a longer, likelier answer. The prompt is run once per row; its KV cache is copied to one row per
choice for the continuations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..prompt import ALPACA_FORMAT, PromptFormat, encode_prompts
from .engine import CachedBatch, extend, fork, full_log_probs, output_weights
from .prefix import PrefixCache


@dataclass
class RankOutcome:
    choice: str
    scores: dict[str, float]  # choice -> total log-probability (with the end of the answer)
    fed_tokens: int

    def diagnostics(self) -> dict[str, Any]:
        return {"choice_logprobs": {k: round(v, 4) for k, v in self.scores.items()}, "fed_tokens": self.fed_tokens}


def choice_ids(tokenizer: Any, choice: str, fmt: PromptFormat = ALPACA_FORMAT) -> list[int]:
    """The choice's tokens as training saw them (the answer encoded alone, then the format's end of answer)."""
    ids = list(tokenizer(choice, add_special_tokens=False)["input_ids"])
    return ids + fmt.end_ids(tokenizer)


@torch.inference_mode()
def rank_batch(
    model: torch.nn.Module,
    tokenizer: Any,
    prompts: Sequence[str],
    choices: Sequence[Sequence[str]],
    *,
    prefixes: PrefixCache | None = None,
    pad_id: int = 0,
    max_rows: int | None = None,
    fmt: PromptFormat = ALPACA_FORMAT,
) -> list[RankOutcome]:
    """The most likely choice of every row (prompts in ``fmt``). ``max_rows`` bounds the (row, choice) pairs run at once."""
    prompt_ids = [list(ids) for ids in encode_prompts(fmt, tokenizer, prompts)["input_ids"]] if prompts else []
    if prefixes is not None:
        shared = prefixes.shared_lengths(tokenizer, prompts, prompt_ids, fmt)
        state = prefixes.batch_state(model, prompt_ids, shared)
    else:
        shared, state = [0] * len(prompts), CachedBatch.empty(model, len(prompts))
    hidden, _ = extend(model, state, [ids[n:] for ids, n in zip(prompt_ids, shared, strict=True)], pad_id)
    last = torch.stack([hidden[r, len(ids) - shared[r] - 1] for r, ids in enumerate(prompt_ids)])
    weight, bias = output_weights(model)
    first_lp = full_log_probs(last, weight, bias)  # [B, V]: the first token of every choice
    pairs = [(r, c, choice_ids(tokenizer, c, fmt)) for r in range(len(prompts)) for c in dict.fromkeys(choices[r])]
    scores: list[dict[str, float]] = [{} for _ in prompts]
    fed = [len(ids) - n for ids, n in zip(prompt_ids, shared, strict=True)]
    group = max_rows or max(len(prompts), 1)
    for lo in range(0, len(pairs), group):
        part = pairs[lo : lo + group]
        sub = fork(state, [r for r, _, _ in part])
        cont_hidden, _ = extend(model, sub, [ids[:-1] for _, _, ids in part], pad_id)
        wanted = [(k, j) for k, (_, _, ids) in enumerate(part) for j in range(len(ids) - 1)]
        later_lp = None
        if wanted:
            rows = torch.as_tensor([k for k, _ in wanted])
            cols = torch.as_tensor([j for _, j in wanted])
            later_lp = full_log_probs(cont_hidden[rows, cols], weight, bias)
        n = 0
        for r, c, ids in part:
            total = float(first_lp[r, ids[0]])
            for j in range(1, len(ids)):
                total += float(later_lp[n, ids[j]])
                n += 1
            scores[r][c] = total
            fed[r] += len(ids) - 1
    out = []
    for r in range(len(prompts)):
        best = max(scores[r], key=lambda c: scores[r][c])  # ties: the first choice listed
        out.append(RankOutcome(best, scores[r], fed[r]))
    return out
