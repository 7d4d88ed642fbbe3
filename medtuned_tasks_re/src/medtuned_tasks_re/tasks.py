"""The two RE tasks, declared on the core's labels kit in ``declarations/*.toml`` (metadata, templates, labels,
aliases, metric); the names loaders and tests share."""

from __future__ import annotations

from pathlib import Path

from medtuned_core.kits.declare import load_task_folder

HERE = Path(__file__).parent
SAMPLES = HERE / "samples"
SPECS = tuple(load_task_folder(HERE / "declarations"))
TASKS = {spec.name: spec.info for spec in SPECS}

GAD, I2B2_2010 = "gad", "i2b2-2010"
GAD_TASK, I2B2_2010_TASK = TASKS[GAD], TASKS[I2B2_2010]
# BioBERT's convention: label 1 = the sentence asserts a gene-disease association. (The released
# Llama2-MedTuned data maps 1 -> Negative; we follow the field, see docs/re.md.)
GAD_POSITIVE, GAD_NEGATIVE = GAD_TASK.labels
GAD_OUTPUTS = GAD_TASK.labels
GAD_FOLDS = tuple(range(1, 11))  # BioBERT's 10-fold cross-validation folders GAD/1 .. GAD/10
# BLUE's label order (create_i2b2_bert.py), the study's integer order; BLUE's `false` is the last, No Relations.
I2B2_OUTPUTS = I2B2_2010_TASK.labels
I2B2_RELATIONS = I2B2_OUTPUTS[:-1]
