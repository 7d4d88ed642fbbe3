"""bf16 training without DeepSpeed: the model computes in bf16, the optimizer updates fp32 master weights.

A bf16 weight has an 8-bit mantissa: an AdamW step of ``lr`` ≈ 1e-5 on a weight of 0.02 is below its
resolution and is rounded away, so plain bf16 weights stop learning at the study's learning rate.
:class:`MasterWeightAdamW` keeps an fp32 copy of every low-precision parameter and its AdamW state in
fp32, copies the (bf16) gradients into fp32 before each step and writes the rounded result back into
the model — the scheme of DeepSpeed's bf16 optimizer and Megatron, here for a single process.

Against ``torch.autocast`` (fp32 weights, bf16 matrix products), the weights, activations and gradients
are bf16 throughout, so every element-wise operation and cast moves half the bytes, and there is no
per-step cast of every weight. benchmarks/bench_perf.py measures both side by side, and the loss over
the first 100 steps against fp32 (docs/training.md).
"""

from __future__ import annotations

from typing import Any

import torch


class MasterWeightAdamW(torch.optim.AdamW):
    """AdamW over fp32 master copies of the low-precision parameters it is given (fp32 ones are used as they are).

    The model's parameters keep their dtype and receive the rounded master weights after every step. The
    master weights travel in ``state_dict()``, so a resumed run continues from the precise values."""

    def __init__(self, params: Any, **kwargs: Any) -> None:
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.model_params: list[torch.Tensor] = []
        master_groups = []
        for group in groups:
            masters = []
            for p in group["params"]:
                self.model_params.append(p)
                masters.append(p if p.dtype == torch.float32 else p.detach().float().clone().requires_grad_(True))
            master_groups.append({**group, "params": masters})
        super().__init__(master_groups, **kwargs)
        self.masters = [m for g in self.param_groups for m in g["params"]]
        self._low = [(p, m) for p, m in zip(self.model_params, self.masters, strict=True) if p is not m]

    @classmethod
    def replacing(cls, optimizer: torch.optim.Optimizer) -> MasterWeightAdamW:
        """The same parameter groups and settings as ``optimizer`` (an AdamW the Trainer built), over master weights."""
        groups = [{k: v for k, v in g.items() if k != "initial_lr"} for g in optimizer.param_groups]
        return cls(groups, **{k: v for k, v in optimizer.defaults.items() if k in _ADAMW_ARGS})

    @torch.no_grad()
    def step(self, closure=None):
        for p, m in self._low:
            m.grad = None if p.grad is None else p.grad.float()
        loss = super().step(closure)
        if self._low:
            torch._foreach_copy_([p for p, _ in self._low], [m for _, m in self._low])
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none)
        for p, _ in self._low:
            p.grad = None

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["master_weights"] = [m.detach().clone() for _, m in self._low]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        saved = state_dict.pop("master_weights", None)
        super().load_state_dict(state_dict)
        with torch.no_grad():
            if saved is not None and len(saved) == len(self._low):
                for (p, m), value in zip(self._low, saved, strict=True):
                    m.copy_(value)
                    p.copy_(m)
            else:  # a checkpoint written without master weights: start them from the model's
                for p, m in self._low:
                    m.copy_(p)


_ADAMW_ARGS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused")
