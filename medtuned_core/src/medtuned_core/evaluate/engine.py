"""Batched forward passes over a KV cache that may hold holes.

Score-mode decoding feeds each row its own chunk of tokens per call (a forced stretch of an answer,
or a guessed remainder to verify), so rows advance at different speeds. Instead of left-aligning and
re-padding the cache every time, every chunk is right-padded to the longest one in the call and the
padding slots stay in the cache, masked out by the 2-D attention mask. Each row keeps its own next
position id, so RoPE sees the positions a plain unpadded pass would give: the result equals the one
of an unbatched pass up to float rounding. A rejected guess is dropped the same way — its slots are
masked, never cropped — which lets rows reject at different points in one batch.

The same trick lets rows start from shared instruction prefixes of different lengths: each prefix is
computed once (a batch of one) and the batch is assembled from them (:func:`stack_prefixes`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

# transformers 5 renamed the forward argument ``past_key_values`` to ``cache``.
_CACHE_KWARG: dict[type, str] = {}


def _cache_kwarg(module: torch.nn.Module) -> str:
    kind = type(module)
    if kind not in _CACHE_KWARG:
        params = inspect.signature(module.forward).parameters
        _CACHE_KWARG[kind] = "cache" if "cache" in params else "past_key_values"
    return _CACHE_KWARG[kind]


def decoder_of(model: torch.nn.Module) -> torch.nn.Module:
    """The transformer body that returns hidden states (``model.model`` for Llama-style models)."""
    getter = getattr(model, "get_decoder", None)
    decoder = getter() if callable(getter) else None
    if decoder is None:
        decoder = getattr(model, getattr(model, "base_model_prefix", "model"), None)
    if decoder is None:
        raise TypeError(f"{type(model).__name__}: cannot find the decoder body of this model")
    return decoder


def new_cache(model: torch.nn.Module) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=model.config)
    except TypeError:  # older transformers
        return DynamicCache()


@dataclass
class CachedBatch:
    """The KV cache of a batch, its slot mask (1 = real token) and each row's next position id."""

    cache: Any
    mask: torch.Tensor  # [B, slots] long
    next_pos: torch.Tensor  # [B] long

    @property
    def size(self) -> int:
        return int(self.next_pos.shape[0])

    @classmethod
    def empty(cls, model: torch.nn.Module, batch: int) -> CachedBatch:
        return cls(new_cache(model), torch.zeros(batch, 0, dtype=torch.long), torch.zeros(batch, dtype=torch.long))

    def select(self, rows: Sequence[int]) -> None:
        """Keep only ``rows`` (finished rows leave the batch so they cost nothing more)."""
        index = torch.as_tensor(list(rows), dtype=torch.long)
        self.cache.batch_select_indices(index)
        self.mask = self.mask[index]
        self.next_pos = self.next_pos[index]

    def forget(self, row: int, first_slot: int) -> None:
        """Mask the slots of ``row`` from ``first_slot`` on and rewind its position to the last kept token."""
        with torch.inference_mode():  # the mask was made under inference mode by extend()
            self.mask[row, first_slot:] = 0
            self.next_pos[row] = int(self.mask[row].sum())


def _copy_cache(cache: Any) -> Any:
    """A cache that can be re-indexed without touching ``cache``: row selection and repetition assign new
    tensors to the layer objects, so copying the layer objects (not their tensors) is enough."""
    import copy

    layers = getattr(cache, "layers", None)
    if isinstance(layers, list):
        other = copy.copy(cache)
        other.layers = [copy.copy(layer) for layer in layers]
        return other
    return copy.deepcopy(cache)


def fork(state: CachedBatch, rows: Sequence[int]) -> CachedBatch:
    """A new batch made of ``rows`` of ``state`` (repeats allowed); ``state`` itself is left as it is."""
    other = CachedBatch(_copy_cache(state.cache), state.mask, state.next_pos)
    other.select(rows)
    return other


def _layer_count(cache: Any) -> int:
    layers = getattr(cache, "layers", None)
    return len(layers) if layers is not None else len(cache.key_cache)


def _layer_kv(cache: Any, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return layers[index].keys, layers[index].values
    return cache.key_cache[index], cache.value_cache[index]


@torch.inference_mode()
def stack_prefixes(model: torch.nn.Module, parts: Sequence[CachedBatch | None]) -> CachedBatch:
    """A batch made of the rows of ``parts`` in order (None: one row that holds nothing yet).

    Parts of different cache widths are right-padded with masked slots, so rows of different templates can
    share a batch — and batches prefilled apart (ranking.py) can be joined; the cache is filled through
    ``Cache.update`` like a forward pass would."""
    real = [p for p in parts if p is not None]
    if not real:
        return CachedBatch.empty(model, len(parts))
    width = max(int(p.mask.shape[1]) for p in real)
    cache = new_cache(model)
    for layer in range(_layer_count(real[0].cache)):
        keys, values = [], []
        for part in parts:
            if part is None:
                k0, v0 = _layer_kv(real[0].cache, layer)
                keys.append(k0.new_zeros(1, k0.shape[1], width, k0.shape[3]))
                values.append(v0.new_zeros(1, v0.shape[1], width, v0.shape[3]))
                continue
            k, v = _layer_kv(part.cache, layer)
            pad = width - k.shape[2]
            keys.append(torch.nn.functional.pad(k, (0, 0, 0, pad)) if pad else k)
            values.append(torch.nn.functional.pad(v, (0, 0, 0, pad)) if pad else v)
        cache.update(torch.cat(keys), torch.cat(values), layer)
    masks, positions = [], []
    for part in parts:
        if part is None:
            masks.append(torch.zeros(1, width, dtype=torch.long))
            positions.append(torch.zeros(1, dtype=torch.long))
        else:
            masks.append(torch.nn.functional.pad(part.mask, (0, width - int(part.mask.shape[1]))))
            positions.append(part.next_pos)
    return CachedBatch(cache, torch.cat(masks), torch.cat(positions))


def split_by_cost(lengths: Sequence[int], call_tokens: int, max_rows: int | None = None) -> list[int]:
    """Where to cut rows sorted by ``lengths`` (ascending) into forward calls: a call costs what its padded
    tokens cost (rows x its longest row) plus a fixed ``call_tokens`` of overhead, so a long row joins
    short ones only while the padding it adds costs less than a call of its own. Returns the end index of
    each call (at most ``max_rows`` rows each); an exact minimum (dynamic programming over the cut points)."""
    n = len(lengths)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - (max_rows or n)), end):
            cost = best[start] + call_tokens + (end - start) * lengths[end - 1]
            if cost < best[end]:
                best[end], cut[end] = cost, start
    ends, end = [], n
    while end > 0:
        ends.append(end)
        end = cut[end]
    return ends[::-1]


@torch.inference_mode()
def extend(model: torch.nn.Module, state: CachedBatch, chunks: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, int]:
    """Feed each row its chunk (lengths may differ, even zero); returns the hidden states ``[B, L, H]`` and
    the slot index where every chunk starts. The cache, mask and positions are updated in place."""
    if len(chunks) != state.size:
        raise ValueError(f"{len(chunks)} chunks for a batch of {state.size}")
    width = max((len(c) for c in chunks), default=0)
    start = int(state.mask.shape[1])
    if width == 0:
        return torch.zeros(state.size, 0, 0), start
    ids = torch.full((state.size, width), pad_id, dtype=torch.long)
    chunk_mask = torch.zeros(state.size, width, dtype=torch.long)
    for row, chunk in enumerate(chunks):
        if chunk:
            ids[row, : len(chunk)] = torch.as_tensor(list(chunk), dtype=torch.long)
            chunk_mask[row, : len(chunk)] = 1
    positions = state.next_pos[:, None] + torch.arange(width)[None, :]
    mask = torch.cat([state.mask, chunk_mask], dim=1)
    decoder = decoder_of(model)
    device = next(model.parameters()).device
    out = decoder(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        use_cache=True,
        **{_cache_kwarg(decoder): state.cache},
    )
    state.mask = mask
    state.next_pos = state.next_pos + chunk_mask.sum(dim=1)
    return out.last_hidden_state, start


def output_weights(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    head = model.get_output_embeddings()
    return head.weight, getattr(head, "bias", None)


def restricted_logits(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, token_ids: Sequence[int]) -> torch.Tensor:
    """fp32 logits of only ``token_ids`` for hidden states ``[..., H]``: choosing among a few allowed tokens needs no
    full vocabulary projection (the argmax is the same; a monotone soft-cap some models apply does not change it).

    Computed in fp32 whatever the model's dtype: a bf16 logit near 20 is rounded to a multiple of 0.125, enough
    to flip near-tied labels between a bf16 and an fp32 run; for a few rows of the output layer fp32 costs nothing."""
    index = torch.as_tensor(list(token_ids), dtype=torch.long, device=weight.device)
    out = hidden.float() @ weight.index_select(0, index).float().T
    return out if bias is None else out + bias.index_select(0, index).float()


def full_log_probs(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Log-softmax over the whole vocabulary for a few hidden states ``[N, H]`` (ranking needs true probabilities)."""
    logits = hidden.to(weight.dtype) @ weight.T
    if bias is not None:
        logits = logits + bias
    return torch.log_softmax(logits.float(), dim=-1)
