"""The real HoC splits (../shared/corpora; skipped when absent): counts, fidelity to the study, gold scores 1.0."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_cls.parser import parse_hoc

pytestmark = requires_corpora()

# SOURCES.md section 3: sentences / documents per split.
COUNTS = {"train": (12_119, 1_295), "validation": (1_798, 186), "test": (3_547, 371)}
EMPTY_LABEL_ROWS = {"train": 7, "validation": 3, "test": 1}


@pytest.mark.parametrize("split", list(COUNTS))
def test_split_counts_and_gold_as_prediction(registry, task, split):
    examples = list(registry.load(task, shared_corpora(), split))
    sentences, documents = COUNTS[split]
    assert len(examples) == sentences
    assert len({e["id"].rsplit("_", 1)[0] for e in examples}) == documents
    assert Counter(len(e["labels"]) == 0 for e in examples)[True] == EMPTY_LABEL_ROWS[split]

    rows = list(render_split(registry, task, shared_corpora(), split))
    for example, row in zip(examples, rows, strict=True):
        assert parse_hoc(row["output"], reference=None).value == sorted(example["labels"]), row["id"]
    result = score_rows(registry, [{"task": "hoc", "id": r["id"], "reference": r["output"], "prediction": r["output"]} for r in rows])["hoc"]
    assert result["documents"] == documents and result["unparsed"] == 0 and result["gold_unparsed"] == 0
    for key in ("score", "document_micro_f1", "document_macro_f1", "sentence_micro_f1", "sentence_exact_match"):
        assert result[key] == 1.0, key


def test_rendering_reproduces_the_study_test_file(registry, task):
    """input/output byte-identical to Llama2-MedTuned-reference/HoC-test.instructions.jsonl (3,547 rows)."""
    reference_path = shared_corpora() / "Llama2-MedTuned-reference" / "HoC-test.instructions.jsonl"
    reference = [json.loads(line) for line in reference_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = list(render_split(registry, task, shared_corpora(), "test"))
    assert len(rows) == len(reference) == 3_547
    mismatches = [
        i for i, (ours, theirs) in enumerate(zip(rows, reference, strict=True)) if (ours["input"], ours["output"]) != (theirs["input"], theirs["output"])
    ]
    assert mismatches == [], f"{len(mismatches)} rows differ, first at row {mismatches[:1]}"


def test_samples_hold_no_real_sentence(task):
    real = {json.loads(line)["text"] for split in COUNTS for line in (shared_corpora() / "HoC" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()}
    ours = [
        json.loads(line)["text"] for path in sorted(Path(task.sample_data, "HoC").glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert len(ours) == 232 and not set(ours) & real
