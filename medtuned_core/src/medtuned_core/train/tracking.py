"""Experiment tracking: the ``report_to`` setting, handed to the HF Trainer's own integrations.

``report_to`` names one or more trackers (``tensorboard,wandb``) or ``none``. Each tracker is an optional
package, installed with an extra of ``medtuned-core`` (``[tensorboard]``, ``[wandb]``, ``[mlflow]``, or all three
with ``[tracking]``); a missing one stops the run before anything loads, naming the extra.

Where the logs go is each tool's own business, set with its usual environment variables (``WANDB_PROJECT``,
``WANDB_DIR``, ``WANDB_MODE=offline``, ``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_NAME``), with one exception:
TensorBoard event files go to ``OUT/tensorboard`` (``TENSORBOARD_LOGGING_DIR`` overrides it) rather than under
``OUT/checkpoints``, which a run may delete once it has exported. Runs are named after the run folder.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from ..errors import MedTunedError

# tracker -> (importable module that provides it, the medtuned-core extra that installs it)
TRACKERS: dict[str, tuple[tuple[str, ...], str]] = {
    "tensorboard": (("tensorboard", "tensorboardX"), "tensorboard"),
    "wandb": (("wandb",), "wandb"),
    "mlflow": (("mlflow",), "mlflow"),
}
NONE = "none"
TENSORBOARD_FOLDER = "tensorboard"


def parse_trackers(value: str) -> list[str]:
    """``"tensorboard, wandb"`` -> ``["tensorboard", "wandb"]``; ``"none"`` (or empty) -> ``[]``. Unknown names raise."""
    names = list(dict.fromkeys(n.strip().lower() for n in str(value).split(",") if n.strip()))
    if names in ([], [NONE]):
        return []
    if NONE in names:
        raise MedTunedError(f"report_to: 'none' cannot be combined with other trackers (got {value!r})")
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise MedTunedError(f"report_to: unknown tracker {', '.join(map(repr, unknown))}; choose from {', '.join(TRACKERS)} or none")
    return names


def require_packages(names: list[str]) -> None:
    """One line naming the extra to install when a tracker's package is absent."""
    for name in names:
        modules, extra = TRACKERS[name]
        if not any(importlib.util.find_spec(m) is not None for m in modules):
            raise MedTunedError(f"--report-to {name} needs the {modules[0]} package: pip install 'medtuned-core[{extra}]'")
    if "mlflow" in names and not os.environ.get("MLFLOW_TRACKING_URI") and importlib.util.find_spec("sqlalchemy") is None:
        # mlflow-skinny (the extra) has no default store: MLflow's local sqlite store needs the full package.
        raise MedTunedError(
            "--report-to mlflow: set MLFLOW_TRACKING_URI (a tracking server, or file:PATH with MLFLOW_ALLOW_FILE_STORE=true), "
            "or pip install mlflow for its default local store"
        )


def place_logs(trainer: Any, out: Path) -> Path | None:
    """Point the Trainer's TensorBoard callback at ``OUT/tensorboard`` unless ``TENSORBOARD_LOGGING_DIR`` chose a folder."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            if callback.logging_dir is None:
                callback.logging_dir = str(out / TENSORBOARD_FOLDER)
            return Path(callback.logging_dir)
    return None


def own_wandb_run(names: list[str]) -> bool:
    """True when this run will start the W&B run itself (none is active yet), so it should also finish it."""
    if "wandb" not in names:
        return False
    import wandb

    return wandb.run is None


def finish_wandb() -> None:
    """End the W&B run the Trainer started: a later ``train()`` in the same process must not log into it."""
    import wandb

    if wandb.run is not None:
        wandb.finish()
