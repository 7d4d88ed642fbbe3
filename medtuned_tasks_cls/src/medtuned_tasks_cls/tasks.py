"""The HoC task, declared on the core's labels kit in ``declarations/hoc.toml`` (read by the kit's own JSONL
reader, parsed and scored by the kit: label sets, document-level F1); the names tests share."""

from __future__ import annotations

from pathlib import Path

from medtuned_core.kits.declare import load_task_folder

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"
SPECS = tuple(load_task_folder(HERE / "declarations"))
TASKS = {spec.name: spec.info for spec in SPECS}

HOC = "hoc"
HOC_TASK = TASKS[HOC]
NONE = "none"
DISPLAY: dict[str, str] = SPECS[0].config.values  # corpus label -> output text, hallmarks in the standard order, then None
CORPUS_LABELS = tuple(DISPLAY)
HALLMARKS = tuple(label for label in DISPLAY if label != NONE)
OUTPUTS = HOC_TASK.labels
