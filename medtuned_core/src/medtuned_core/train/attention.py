"""Variable-length attention for packed batches on SDPA (CPU, or GPUs without flash-attention).

A packed batch is one row of concatenated examples whose ``position_ids`` restart at 0. transformers keeps the
examples apart there by building a block-diagonal causal mask over the whole row, so attention costs
``(sum of lengths)^2``, and a dense mask rules out SDPA's fused causal kernels. This attention function instead runs
causal SDPA on each example's slice, like flash-attention's varlen kernel: ``sum of length^2`` work, no mask, and
the same result. Any other input (padded batches, generation with a cache) goes to transformers' own SDPA.
"""

from __future__ import annotations

from typing import Any

ATTENTION_NAME = "medtuned_packed_sdpa"


def segment_bounds(position_ids) -> list[tuple[int, int]]:
    """``(start, end)`` of each packed example: a new one starts wherever the position does not grow by 1."""
    import torch

    positions = position_ids[0]
    starts = [0, *(torch.nonzero(torch.diff(positions) != 1).flatten() + 1).tolist()]
    ends = [*starts[1:], positions.shape[0]]
    return list(zip(starts, ends, strict=True))


def packed_sdpa_attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None, **kwargs: Any):
    """transformers attention interface: ``query/key/value`` are ``[batch, heads, length, head_dim]``; returns
    ``([batch, length, heads, head_dim], None)``."""
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    position_ids = kwargs.get("position_ids")
    packed = position_ids is not None and query.shape[0] == 1 and position_ids.shape[-1] == query.shape[2] == key.shape[2]
    bounds = segment_bounds(position_ids.view(1, -1)) if packed else []
    if len(bounds) < 2:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    dropout = dropout if module.training else 0.0
    pieces = [
        torch.nn.functional.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e], dropout_p=dropout, scale=scaling, is_causal=True)
        for s, e in bounds
    ]
    return torch.cat(pieces, dim=2).transpose(1, 2).contiguous(), None


def register() -> str:
    """Make ``ATTENTION_NAME`` known to transformers (attention and mask interfaces); returns the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, packed_sdpa_attention)
    # Padded batches still get their padding mask (built the SDPA way) and fall through to SDPA above.
    ALL_MASK_ATTENTION_FUNCTIONS.register(ATTENTION_NAME, sdpa_mask)
    return ATTENTION_NAME


def use_packed_attention(model) -> bool:
    """Switch an SDPA/eager model to per-example attention for packed batches; flash-attention is left alone (its
    varlen path already does this). Returns True if switched."""
    current = getattr(model.config, "_attn_implementation", None)
    if current not in ("sdpa", "eager", None):
        return current == ATTENTION_NAME
    model.set_attn_implementation(register())
    return True


def restore_attention(model, name: str = "sdpa") -> None:
    """Put the standard implementation back (before saving: an exported config must not name our function)."""
    if getattr(model.config, "_attn_implementation", None) == ATTENTION_NAME:
        model.set_attn_implementation(name)
