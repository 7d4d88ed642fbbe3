"""Metrics history (JSON) and the loss curve (PNG) of a run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..jsonl import atomic_writer


def loss_points(log_history: Sequence[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    """``(step, value)`` for every log entry that has ``key``, one per step (a resumed run may log a step twice)."""
    points = {int(e["step"]): float(e[key]) for e in log_history if key in e and "step" in e}
    return sorted(points.items())


def write_metrics(path: str | Path, log_history: Sequence[dict[str, Any]], summary: dict[str, Any]) -> Path:
    with atomic_writer(path) as fh:
        json.dump({"summary": summary, "log_history": list(log_history)}, fh, indent=2)
    return Path(path)


def plot_loss_curve(path: str | Path, log_history: Sequence[dict[str, Any]], title: str = "Training loss") -> Path | None:
    """Train loss per logged step, and validation loss where evaluated; None when nothing was logged."""
    train, evals = loss_points(log_history, "loss"), loss_points(log_history, "eval_loss")
    if not train and not evals:
        return None
    from ..charts import new_figure, save_png

    fig = new_figure(figsize=(7, 4), dpi=120)
    ax = fig.subplots()
    if train:
        ax.plot([s for s, _ in train], [v for _, v in train], label="train loss", linewidth=1.2)
    if evals:
        ax.plot([s for s, _ in evals], [v for _, v in evals], "o-", label="validation loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (response tokens)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_png(fig, path)
