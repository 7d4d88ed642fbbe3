"""The MedNLI task, declared on the core's labels kit in ``declarations/mednli.toml``; the names the loader and tests share."""

from __future__ import annotations

from pathlib import Path

from medtuned_core.kits.declare import load_task_folder

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"
SPECS = tuple(load_task_folder(HERE / "declarations"))
TASKS = {spec.name: spec.info for spec in SPECS}

MEDNLI = "mednli"
MEDNLI_TASK = TASKS[MEDNLI]
MEDNLI_OUTPUTS = MEDNLI_TASK.labels  # Entailment, Contradiction, Neutral
# The corpus writes SNLI's lower-case gold labels; the study's outputs are capitalised.
MEDNLI_LABEL_TO_OUTPUT = SPECS[0].config.values
# SNLI marks a pair whose annotators reached no majority with gold_label "-"; such pairs have no answer.
NO_CONSENSUS = "-"
