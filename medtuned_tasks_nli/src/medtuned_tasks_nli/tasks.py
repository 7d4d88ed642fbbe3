"""The task's metadata and label set (the name and the output strings are part of the contract)."""

from __future__ import annotations

from pathlib import Path

from medtuned_core.types import TaskInfo

from .templates import MEDNLI_TEMPLATES

SAMPLES = Path(__file__).parent / "samples"

MEDNLI = "mednli"
ENTAILMENT, CONTRADICTION, NEUTRAL = "Entailment", "Contradiction", "Neutral"
MEDNLI_OUTPUTS = (ENTAILMENT, CONTRADICTION, NEUTRAL)
# The corpus writes SNLI's lower-case gold labels; the study's outputs are capitalised.
MEDNLI_LABEL_TO_OUTPUT = {"entailment": ENTAILMENT, "contradiction": CONTRADICTION, "neutral": NEUTRAL}
# SNLI marks a pair whose annotators reached no majority with gold_label "-"; such pairs have no answer.
NO_CONSENSUS = "-"

MEDNLI_TASK = TaskInfo(
    name=MEDNLI,
    family="nli",
    description="Clinical natural language inference (MedNLI): does a premise sentence from a MIMIC-III note entail, contradict or "
    "leave open a clinician-written hypothesis? Entailment / Contradiction / Neutral.",
    metric="accuracy",
    splits=("train", "validation", "test"),
    data_folder="MedNLI",
    templates=MEDNLI_TEMPLATES,
    labels=MEDNLI_OUTPUTS,
    citation="Romanov A, Shivade C. Lessons from Natural Language Inference in the Clinical Domain. EMNLP 2018, 1586-1596. "
    "Data: Shivade C. MedNLI - A Natural Language Inference Dataset For The Clinical Domain (version 1.0.0). PhysioNet (2019). "
    "https://doi.org/10.13026/C2RS98",
    license="PhysioNet Credentialed Health Data License 1.5.0 (not redistributable)",
    access="credentialed",
    options={"no_consensus": "skip"},
    how_to_obtain="MedNLI is credentialed data: become a credentialed PhysioNet user, sign the data use agreement at "
    "https://physionet.org/content/mednli/ and put mli_train_v1.jsonl, mli_dev_v1.jsonl and mli_test_v1.jsonl (or BLUE's "
    "train.tsv, dev.tsv, test.tsv) in <data-dir>/MedNLI/.",
    sample_data=str(SAMPLES),
)

TASKS = {t.name: t for t in (MEDNLI_TASK,)}
