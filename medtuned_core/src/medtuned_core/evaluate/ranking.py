"""Score-mode choices: the log-probability of every token of every choice, for the scorings of choices.py.

A render hook that emits ``"choices": [...]`` promises that the gold output is one of them (GAD's
Positive/Negative, MedNLI's three relations, a QA option...). Each choice is fed after the prompt as the
tokens training saw — its text encoded alone, then the prompt format's answer end (EOS in the Alpaca
format, the chat template's end of turn) — and the log-probability of each of those tokens is kept. From
them choices.py reads every scoring (constrained greedy, log-likelihood with and without the answer end,
length-normalised) at no extra cost. The prompt is run once per row (its instruction block once per run,
prefix.py); its KV cache is copied to one row per choice for the continuations. On a CPU, where a forward
call costs its padded tokens, the prompts are fed in calls of similar lengths and the choices grouped by
length (engine.split_by_cost): the numbers are the same, the padding is not paid.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..prompt import ALPACA_FORMAT, PromptFormat, encode_prompts
from . import choices as scorings
from .engine import CachedBatch, extend, fork, full_log_probs, output_weights, split_by_cost, stack_prefixes
from .prefix import PrefixCache


@dataclass
class RankOutcome:
    """What a backend's ``rank`` returns for one row.

    ``scores`` is each choice's total log-probability (with the answer end). A backend that also gives the
    per-token log-probabilities (``tokens``/``token_logprobs``, the answer end's ``end_tokens`` last; None when
    it scored the choices without their end) lets every scoring of choices.py be read; ``choice`` is then the
    default scoring's pick."""

    choice: str
    scores: dict[str, float]
    fed_tokens: int
    tokens: dict[str, list[Any]] = field(default_factory=dict)
    token_logprobs: dict[str, list[float]] = field(default_factory=dict)
    end_tokens: int | None = 0

    @classmethod
    def from_tokens(
        cls, choices: Sequence[str], tokens: dict[str, list[Any]], token_logprobs: dict[str, list[float]], end_tokens: int | None, fed: int
    ) -> RankOutcome:
        order = list(dict.fromkeys(choices))
        totals = {c: float(sum(token_logprobs[c])) for c in order}
        outcome = cls(order[0], totals, fed, tokens, token_logprobs, end_tokens)
        outcome.choice = outcome.picks()[scorings.DEFAULT_SCORING]
        return outcome

    def picks(self) -> dict[str, str]:
        """The choice of every scoring this outcome can give (only ``loglik-eos`` without per-token figures)."""
        if not self.token_logprobs:
            return {scorings.LOGLIK_EOS: scorings.argmax(self.scores)}
        return scorings.picks(list(self.scores), self.tokens, self.token_logprobs, self.end_tokens)

    def end_logprobs(self) -> dict[str, float] | None:
        if not self.token_logprobs or self.end_tokens is None:
            return None
        n = self.end_tokens
        return {c: float(sum(lps[len(lps) - n :])) if n else 0.0 for c, lps in self.token_logprobs.items()}

    def diagnostics(self) -> dict[str, Any]:
        out: dict[str, Any] = {"choice_logprobs": {k: round(v, 4) for k, v in self.scores.items()}}
        ends = self.end_logprobs()
        if ends is not None:
            out["end_logprobs"] = {k: round(v, 4) for k, v in ends.items()}
        out["picks"] = self.picks()
        out["fed_tokens"] = self.fed_tokens
        return out


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
    call_tokens: int | None = None,
) -> list[RankOutcome]:
    """Every choice of every row scored token by token (prompts in ``fmt``). ``max_rows`` bounds the (row, choice)
    pairs run at once; ``call_tokens`` (what one forward call costs beyond its tokens, in tokens; None: calls
    are free, as on an accelerator) lets rows of similar lengths be fed apart to save padding."""
    prompt_ids = [list(ids) for ids in encode_prompts(fmt, tokenizer, prompts)["input_ids"]] if prompts else []
    if prefixes is not None:
        shared = prefixes.shared_lengths(tokenizer, prompts, prompt_ids, fmt)
    else:
        shared = [0] * len(prompts)
    fed = [len(ids) - n for ids, n in zip(prompt_ids, shared, strict=True)]
    weight, bias = output_weights(model)
    # The prompts dominate the cost (a MedQA prompt is ~20x a choice) and their lengths vary widely within a
    # batch, so with ``call_tokens`` they are fed in calls of similar lengths (split_by_cost) rather than all
    # padded to the longest; the calls' caches are then joined into one batch for the choices.
    by_length = sorted(range(len(prompts)), key=lambda r: fed[r])
    slot = {r: k for k, r in enumerate(by_length)}  # row -> its row in ``state``
    calls = split_by_cost([fed[r] for r in by_length], call_tokens) if call_tokens else [len(prompts)]
    parts, lasts = [], []
    for lo, hi in itertools.pairwise([0, *calls]):
        rows = by_length[lo:hi]
        if prefixes is not None:
            part = prefixes.batch_state(model, [prompt_ids[r] for r in rows], [shared[r] for r in rows])
        else:
            part = CachedBatch.empty(model, len(rows))
        hidden, _ = extend(model, part, [prompt_ids[r][shared[r] :] for r in rows], pad_id)
        lasts += [hidden[k, fed[r] - 1] for k, r in enumerate(rows)]
        parts.append(part)
    state = parts[0] if len(parts) == 1 else stack_prefixes(model, parts)
    first_lp = full_log_probs(torch.stack(lasts), weight, bias) if lasts else None  # [B, V] in ``state`` order: every choice's first token
    pairs = [(r, c, choice_ids(tokenizer, c, fmt)) for r in range(len(prompts)) for c in dict.fromkeys(choices[r])]
    # Choices of similar lengths share a call (their padding is what a call wastes).
    pairs.sort(key=lambda p: len(p[2]))
    group = max_rows or max(len(prompts), 1)
    cuts = split_by_cost([len(ids) - 1 for _, _, ids in pairs], call_tokens, group) if call_tokens else list(range(group, len(pairs), group)) + [len(pairs)]
    token_lps: list[dict[str, list[float]]] = [{} for _ in prompts]
    for lo, hi in itertools.pairwise([0, *cuts]):
        part = pairs[lo:hi]
        if not part:
            continue
        sub = fork(state, [slot[r] for r, _, _ in part])
        cont_hidden, _ = extend(model, sub, [ids[:-1] for _, _, ids in part], pad_id)
        wanted = [(k, j) for k, (_, _, ids) in enumerate(part) for j in range(len(ids) - 1)]
        later_lp = None
        if wanted:
            rows = torch.as_tensor([k for k, _ in wanted])
            cols = torch.as_tensor([j for _, j in wanted])
            later_lp = full_log_probs(cont_hidden[rows, cols], weight, bias)
        n = 0
        for r, c, ids in part:
            lps = [float(first_lp[slot[r], ids[0]])]
            for j in range(1, len(ids)):
                lps.append(float(later_lp[n, ids[j]]))
                n += 1
            token_lps[r][c] = lps
            fed[r] += len(ids) - 1
    # Back in each row's listed order of choices (the pairs were sorted by length; ties go to the first listed).
    token_lps = [{c: token_lps[r][c] for c in dict.fromkeys(choices[r])} for r in range(len(prompts))]
    end = len(fmt.end_ids(tokenizer))
    ids_of = {(r, c): ids for r, c, ids in pairs}
    return [RankOutcome.from_tokens(list(token_lps[r]), {c: ids_of[(r, c)] for c in token_lps[r]}, token_lps[r], end, fed[r]) for r in range(len(prompts))]
