"""A learning-rate schedule that ends with a wall-clock budget (``max_minutes``).

A budgeted run stops at whatever step the clock allows, often long before ``max_steps``; a schedule
sized for ``max_steps`` would then stop with the learning rate still high, which costs quality (a
10-minute CPU fine-tune stopped at step 125 of 200 with the rate at 40 % of its peak). Here the decay
is stretched over the steps the budget is expected to allow, re-estimated after every step from the
measured step time, so the rate reaches zero as the budget runs out (or at ``max_steps`` if sooner).
"""

from __future__ import annotations

import math

BUDGET_SCHEDULES = ("linear", "cosine")


class BudgetSchedule:
    """The multiplier of the peak learning rate at a step (a ``LambdaLR`` lambda): linear warm-up, then
    linear or cosine decay to zero at ``planned_steps``, which :meth:`update` moves as the clock runs."""

    def __init__(self, kind: str, budget_seconds: float) -> None:
        if kind not in BUDGET_SCHEDULES:
            raise ValueError(f"a time-budgeted schedule is linear or cosine, not {kind!r}")
        self.kind = kind
        self.budget_seconds = budget_seconds
        self.warmup_steps = 0
        self.max_steps = self.planned_steps = 1
        self._first: tuple[int, float] | None = None  # (step, elapsed) after the first step: it includes start-up costs

    def start(self, warmup_steps: int, max_steps: int) -> BudgetSchedule:
        """Called when the Trainer knows its step count (``max_steps`` or epochs x batches)."""
        self.warmup_steps = warmup_steps
        self.max_steps = self.planned_steps = max(1, max_steps)
        return self

    def update(self, step: int, elapsed: float) -> None:
        """Re-plan after ``step`` finished at ``elapsed`` seconds into the budget."""
        if self._first is None:
            self._first = (step, elapsed)
            return
        first_step, first_elapsed = self._first
        if step <= first_step:
            return
        per_step = (elapsed - first_elapsed) / (step - first_step)
        expected = step + max(0.0, self.budget_seconds - elapsed) / max(per_step, 1e-9)
        self.planned_steps = max(step + 1, min(self.max_steps, math.ceil(expected)))

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return step / max(1, self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.planned_steps - self.warmup_steps))
        if self.kind == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0 - progress
