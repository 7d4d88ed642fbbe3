"""The task's metadata (the name and the output strings are part of the contract)."""

from __future__ import annotations

from pathlib import Path

from medtuned_core.types import TaskInfo

from .labels import OUTPUTS
from .templates import HOC_TEMPLATES

SAMPLES = Path(__file__).parent / "samples"

HOC = "hoc"

HOC_TASK = TaskInfo(
    name=HOC,
    family="cls",
    description="Hallmarks of Cancer (HoC): name every cancer hallmark a PubMed abstract sentence discusses (10 hallmarks or None; "
    "multi-label, outputs comma-joined). Scored per abstract, labels unioned over its sentences (BLUE/BLURB).",
    metric="document_f1",
    splits=("train", "validation", "test"),
    data_folder="HoC",
    templates=HOC_TEMPLATES,
    labels=OUTPUTS,
    citation="Baker S, Silins I, Guo Y, Ali I, Hogberg J, Stenius U, Korhonen A. Automatic semantic classification of scientific literature "
    "according to the hallmarks of cancer. Bioinformatics 32(3):432-440 (2016). Split: Gu Y et al. Domain-Specific Language Model "
    "Pretraining for Biomedical Natural Language Processing (BLURB). ACM Trans. Comput. Healthcare 3(1) (2021); BigBio hallmarks_of_cancer.",
    license="GPL-3.0 (sb895/Hallmarks-of-Cancer)",
    access="public",
    how_to_obtain="Convert sb895/Hallmarks-of-Cancer with the BigBio hallmarks_of_cancer loader (bigbio_text schema, BLURB's PMID split) "
    "and put train.jsonl, validation.jsonl (or dev.jsonl) and test.jsonl, one {id, document_id, text, labels} object per line, in <data-dir>/HoC/.",
    sample_data=str(SAMPLES),
)

TASKS = {t.name: t for t in (HOC_TASK,)}
