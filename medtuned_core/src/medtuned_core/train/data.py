"""Training data: build-output rows -> token ids with response-only labels, a length report, token-bounded batches,
and the two collators (padding-free packing, plain padding)."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import CorpusFormatError, MedTunedError
from ..jsonl import read_jsonl
from ..prompt import ALPACA_FORMAT, PromptFormat, encode_prompts

IGNORE_INDEX = -100  # label value the loss skips (PyTorch's cross-entropy default)
REQUIRED_FIELDS = ("instruction", "input", "output")
ENCODE_CHUNK = 1000


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Alpaca rows from a build's JSONL; a row missing a field, or with a non-text field, names its file and line."""
    path = Path(path)
    if not path.is_file():
        raise MedTunedError(f"{path}: not found (expected a `medtuned build` output file)")
    rows = []
    for lineno, row in read_jsonl(path):
        for key in REQUIRED_FIELDS:
            if not isinstance(row.get(key), str):
                problem = "missing" if key not in row else f"not text ({type(row[key]).__name__})"
                raise CorpusFormatError(path, lineno, f"field {key!r} {problem}")
        if not row["instruction"].strip():
            raise CorpusFormatError(path, lineno, "empty instruction")
        rows.append({**row, "_line": lineno})
    if not rows:
        raise MedTunedError(f"{path}: no rows")
    return rows


@dataclasses.dataclass
class Example:
    """One tokenised row: ``labels`` is ``IGNORE_INDEX`` on every prompt token."""

    input_ids: list[int]
    labels: list[int]
    task: str = ""

    def __len__(self) -> int:
        return len(self.input_ids)


def encode_rows(tokenizer, rows: Sequence[dict[str, Any]], fmt: PromptFormat = ALPACA_FORMAT) -> list[Example]:
    """Prompt and response tokenised SEPARATELY, ids concatenated, the end of the answer appended, prompt labels masked.

    Tokenising ``prompt + response`` as one string would let BPE merge characters across the boundary (e.g. the
    header's newline with the first answer word), so the first response token would differ from what the model must
    produce after the bare prompt at inference time, and the prompt/response split would be off by a token. Separate
    encoding gives exactly the ids evaluation feeds (``encode_prompts``: with the tokenizer's special tokens for
    Alpaca, without for a chat template, whose text holds them) plus the ids the model must generate: the answer and
    what ends it (EOS in Alpaca; the template's end-of-turn token(s) in chat, e.g. ``<|im_end|>``), all under the loss.
    """
    end = fmt.end_ids(tokenizer)
    if not end:
        raise MedTunedError("the tokenizer has no EOS token; training needs one to end every response")
    examples: list[Example] = []
    for start in range(0, len(rows), ENCODE_CHUNK):
        chunk = rows[start : start + ENCODE_CHUNK]
        prompts = encode_prompts(fmt, tokenizer, [fmt.prompt(r["instruction"], r.get("input", "")) for r in chunk])["input_ids"]
        responses = tokenizer([r["output"] for r in chunk], add_special_tokens=False)["input_ids"]
        for row, prompt_ids, response_ids in zip(chunk, prompts, responses, strict=True):
            answer = [*response_ids, *end]
            examples.append(Example([*prompt_ids, *answer], [IGNORE_INDEX] * len(prompt_ids) + answer, str(row.get("task", ""))))
    return examples


@dataclasses.dataclass
class LengthReport:
    """How the sequence length was chosen and what happened to rows longer than it (never a silent cut)."""

    max_seq_length: int
    source: str  # "data" (longest row), "flag", or "model context" (the longest row exceeded it)
    model_context: int | None
    rows: int
    tokens: int
    longest: int
    percentiles: dict[str, int]
    over_limit: int
    over_limit_by_task: dict[str, int]
    action: str  # drop | truncate | error
    kept_rows: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        line = f"sequence length {self.max_seq_length} ({self.source}); {self.rows} rows, longest {self.longest}, p50/p90/p99 " + "/".join(
            str(self.percentiles[k]) for k in ("p50", "p90", "p99")
        )
        if self.over_limit:
            by_task = ", ".join(f"{t}: {n}" for t, n in sorted(self.over_limit_by_task.items()))
            verb = "dropped" if self.action == "drop" else "truncated"
            line += f"; {self.over_limit} rows longer than {self.max_seq_length} tokens {verb} ({by_task})"
        return line


def _percentile(sorted_values: list[int], q: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1)] if sorted_values else 0


def choose_length(examples: Sequence[Example], model_context: int | None, requested: int | None) -> tuple[int, str]:
    """The requested length, else the longest row capped by the model's context."""
    longest = max((len(e) for e in examples), default=0)
    if requested is not None:
        return requested, "flag"
    if model_context and longest > model_context:
        return model_context, "model context"
    return max(longest, 2), "data"


def apply_length_limit(examples: list[Example], model_context: int | None, requested: int | None, action: str) -> tuple[list[Example], LengthReport]:
    """Drop, truncate (response end) or refuse rows longer than the chosen length, and report the counts."""
    limit, source = choose_length(examples, model_context, requested)
    if model_context and limit > model_context:
        raise MedTunedError(f"max_seq_length {limit} exceeds the model's context ({model_context} tokens)")
    lengths = sorted(len(e) for e in examples)
    over = [e for e in examples if len(e) > limit]
    by_task = dict(Counter(e.task or "(no task)" for e in over))
    if over and action == "error":
        raise MedTunedError(f"{len(over)} rows are longer than {limit} tokens ({by_task}); raise max_seq_length, or set overlength=drop or truncate")
    kept = []
    for e in examples:
        if len(e) <= limit:
            kept.append(e)
        elif action == "truncate" and any(x != IGNORE_INDEX for x in e.labels[:limit]):
            # Keeps the whole prompt and the start of the answer; a row whose prompt alone is too long is dropped.
            kept.append(Example(e.input_ids[:limit], e.labels[:limit], e.task))
    report = LengthReport(
        max_seq_length=limit,
        source=source,
        model_context=model_context,
        rows=len(examples),
        tokens=sum(lengths),
        longest=lengths[-1] if lengths else 0,
        percentiles={f"p{int(q * 100)}": _percentile(lengths, q) for q in (0.5, 0.9, 0.99)},
        over_limit=len(over),
        over_limit_by_task=by_task,
        action=action,
        kept_rows=len(kept),
    )
    if not kept:
        raise MedTunedError(f"no row fits in {limit} tokens; raise max_seq_length")
    return kept, report


class ExampleDataset:
    """A map-style dataset of ``{"input_ids", "labels"}`` lists (what the collators take)."""

    def __init__(self, examples: Sequence[Example]):
        self.examples = list(examples)

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        e = self.examples[index]
        return {"input_ids": e.input_ids, "labels": e.labels}

    def lengths(self) -> list[int]:
        return [len(e) for e in self.examples]


def batch_cost(lengths: Sequence[int], padded: bool) -> int:
    """Tokens a batch puts through the model: the sum when packed, rows x longest when padded."""
    return len(lengths) * max(lengths) if padded else sum(lengths)


def plan_batches(lengths: Sequence[int], *, max_rows: int, max_tokens: int, padded: bool, shuffle: bool, seed: int) -> list[list[int]]:
    """Rows in (seeded) random order, cut into batches of at most ``max_rows`` rows and ``max_tokens`` tokens."""
    order = list(range(len(lengths)))
    if shuffle:
        random.Random(seed).shuffle(order)
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        candidate = [*current, index]
        if current and (len(candidate) > max_rows or batch_cost([lengths[i] for i in candidate], padded) > max_tokens):
            batches.append(current)
            candidate = [index]
        current = candidate
    if current:
        batches.append(current)
    return batches


class TokenBudgetBatchSampler:
    """Batches of up to ``max_rows`` rows whose token cost stays under ``max_tokens`` (bounds activation memory).

    The batches are planned once (seeded), so the number of steps per epoch is fixed and a resumed run sees the same
    batches; each epoch visits them in a new seeded order (``set_epoch``, which the Trainer calls). Under several
    processes accelerate deals the batches out round-robin (``BatchSamplerShard``).
    """

    def __init__(self, lengths: Sequence[int], *, max_rows: int, max_tokens: int, padded: bool, shuffle: bool = True, seed: int = 0):
        longest = max(lengths, default=0)
        if longest > max_tokens:
            raise MedTunedError(f"a row of {longest} tokens exceeds max_tokens_per_batch={max_tokens}")
        self.batches = plan_batches(lengths, max_rows=max_rows, max_tokens=max_tokens, padded=padded, shuffle=shuffle, seed=seed)
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.drop_last = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        order = list(range(len(self.batches)))
        if self.shuffle:
            random.Random(f"{self.seed}:{self.epoch}").shuffle(order)
        for i in order:
            yield list(self.batches[i])


def make_collator(tokenizer, *, packing: bool, label_positions: bool = False):
    """Packing: :class:`PackedCollator`. Padding: pad ``input_ids`` with the pad token and ``labels`` with -100.
    ``label_positions``: the model projects onto the vocabulary only where a label follows (:func:`with_label_positions`)."""
    from transformers import DataCollatorForSeq2Seq

    collate = PackedCollator() if packing else DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX, return_tensors="pt")
    if not label_positions:
        return collate
    return lambda features: with_label_positions(collate(features))


def with_label_positions(batch: dict[str, Any]) -> dict[str, Any]:
    """Add ``logits_to_keep`` (where the next token carries a label) and ``shift_labels`` (those labels).

    Only answer tokens carry loss, yet a causal LM projects every position onto its vocabulary (SmolLM2:
    49k words, a fifth of the model's compute per token, and a ``tokens x vocabulary`` fp32 matrix for the
    loss). transformers' causal-LM forward keeps only the ``logits_to_keep`` positions and its loss takes
    ``shift_labels`` as given, so the loss is the same sum over the same targets, divided the same way.
    """
    import torch

    labels = batch["labels"]
    shifted = torch.nn.functional.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:]
    keep = shifted != IGNORE_INDEX
    return {**batch, "logits_to_keep": keep, "shift_labels": shifted[keep]}


def supports_label_positions(model) -> bool:
    """Whether the model's forward takes a ``logits_to_keep`` mask and ``shift_labels`` (transformers >= 5 causal LMs)."""
    import inspect

    try:  # the helper that slices by a boolean mask
        from transformers.modeling_utils import slice_logits_to_keep  # noqa: F401
    except ImportError:
        return False
    forward = getattr(getattr(model, "get_base_model", lambda: model)(), "forward", None)
    try:
        return "logits_to_keep" in inspect.signature(forward).parameters
    except (TypeError, ValueError):
        return False


class PackedCollator:
    """Padding-free batches through transformers' ``DataCollatorWithFlattening``: one ``[1, total]`` row,
    ``position_ids`` restarting at 0 for every example, the first label of each example masked (no loss across a
    boundary), and no attention mask.

    Rows never attend to each other: from restarting positions and no mask, transformers' SDPA/eager attention builds
    a block-diagonal causal mask (``masking_utils.find_packed_sequence_indices``) and flash-attention runs varlen.
    That detection is skipped whenever a KV cache exists, and a model whose config says ``use_cache=True`` makes one
    in every forward pass, so the batch carries ``use_cache=False`` explicitly.
    """

    def __init__(self) -> None:
        from transformers import DataCollatorWithFlattening

        self.flatten = DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE_INDEX)

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return {**self.flatten(list(features)), "use_cache": False}


def useful_share(batch: dict[str, Any]) -> tuple[int, int]:
    """``(real tokens, tokens through the model)`` of a collated batch; padding is the difference."""
    total = int(batch["input_ids"].numel())
    mask = batch.get("attention_mask")
    real = int(mask.sum()) if mask is not None else total
    return real, total
