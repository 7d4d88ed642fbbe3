"""PNG charts without pyplot: every chart writer draws on a plain ``matplotlib.figure.Figure`` and renders it
with the Agg canvas when it is saved, so MedTuned never selects a matplotlib backend for the user's process
(no ``matplotlib.use``) and keeps no pyplot figure state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .jsonl import atomic_path


def new_figure(**kwargs: Any):
    """A detached ``Figure`` (``figsize``, ``dpi``, ``layout``...); nothing is registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_png(fig, path: str | Path, dpi: float | None = None, bbox_inches: str | None = None) -> Path:
    """Render ``fig`` with Agg into ``path`` atomically (temp file, then rename); ``bbox_inches="tight"`` keeps
    artists drawn outside the axes (a legend beside them) in the picture."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi if dpi is not None else "figure", bbox_inches=bbox_inches)
    return Path(path)
