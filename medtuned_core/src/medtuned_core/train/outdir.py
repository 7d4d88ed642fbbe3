"""Who may write into a ``medtuned train`` run folder, and what a run may delete there.

A run writes into ``--out`` only when it is absent or empty, or holds an earlier run of the same
configuration (``run_config.json``). ``--resume`` continues an earlier run whatever its settings (they are
shown); ``--overwrite`` starts over, deleting the earlier run's outputs. Either way a run deletes only what
``medtuned train`` writes (:data:`RUN_OUTPUTS` and ``checkpoints/checkpoint-N`` folders): a user's own files
in the folder, ``checkpoints/`` included, are never touched, and a folder that is not a run refuses to have
any of those names replaced.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..io import read_json

RUN_CONFIG = "run_config.json"
# Everything a run writes at the top of its folder (checkpoints/ holds checkpoint-N folders beside any user file).
RUN_OUTPUTS = (RUN_CONFIG, "length_report.json", "events.jsonl", "metrics.json", "loss_curve.png", "model", ".model.tmp", ".adapter.tmp", ".model.old")
CHECKPOINTS = "checkpoints"
_CHECKPOINT = re.compile(r"^checkpoint-\d+$")


def checkpoint_folders(folder: Path) -> list[Path]:
    """The ``checkpoint-N`` folders the Trainer wrote into ``folder`` (nothing else there is ours)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _CHECKPOINT.match(p.name) and p.is_dir() and not p.is_symlink())


def remove_checkpoints(folder: Path) -> None:
    """Delete the run's ``checkpoint-N`` folders; ``folder`` itself goes only if nothing else is left in it."""
    for path in checkpoint_folders(folder):
        shutil.rmtree(path, ignore_errors=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # absent, or holding files that are not ours


def changed_settings(out: Path, config: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{setting: (recorded, now)}`` for every setting (but ``resume``) that differs from the run recorded in ``out``."""
    recorded = read_json(out / RUN_CONFIG)
    old = recorded.get("config", {}) if isinstance(recorded, dict) else {}
    return {k: (old.get(k), v) for k, v in config.items() if k != "resume" and old.get(k) != v}


def claim_run_folder(out: Path, config: dict[str, Any], *, resume: bool, overwrite: bool) -> None:
    """Check that this run may write into ``out`` (rules in the module doc); ``overwrite`` clears an earlier run.

    ``config`` is the run's settings (``TrainConfig.to_json()``), compared with the earlier run's ``run_config.json``.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise MedTunedError(f"{out} exists and is not a folder; choose another --out")
    if not any(out.iterdir()):
        return
    previous = out / RUN_CONFIG
    if not previous.is_file():
        if not (resume or overwrite):
            raise MedTunedError(
                f"{out} is not empty and holds no {RUN_CONFIG} (not a `medtuned train` run folder); choose another --out,"
                " or pass --overwrite to write beside the files there (they are kept)"
            )
        clashes = [name for name in RUN_OUTPUTS if (out / name).exists()]
        clashes += [f"{CHECKPOINTS}/{p.name}" for p in checkpoint_folders(out / CHECKPOINTS)]
        if clashes:
            raise MedTunedError(
                f"{out} is not a `medtuned train` run folder, and a run would replace {', '.join(clashes)} there, which medtuned train did not write;"
                " move them or choose another --out"
            )
        return
    if overwrite:
        for name in RUN_OUTPUTS:
            path = out / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        remove_checkpoints(out / CHECKPOINTS)
        return
    if resume:
        return
    changed = changed_settings(out, config)
    if changed:
        detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in list(changed.items())[:6])
        more = f" and {len(changed) - 6} more" if len(changed) > 6 else ""
        raise MedTunedError(
            f"{out} holds a run with other settings ({detail}{more}); pass --resume to continue it, --overwrite to start over, or choose another --out"
        )
