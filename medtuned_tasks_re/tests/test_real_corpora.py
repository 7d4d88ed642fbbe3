"""Against the real GAD folds and the study's released GAD data (skipped where ../shared/corpora is absent)."""

from __future__ import annotations

from collections import Counter

import pytest

from medtuned_core.jsonl import read_jsonl
from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_re.tasks import GAD, GAD_FOLDS, GAD_NEGATIVE, GAD_POSITIVE, SAMPLES

pytestmark = requires_corpora()

# SOURCES.md section 2: (train rows, train positives, test rows, test positives) per fold.
GAD_COUNTS = {1: (4796, 2520, 534, 281), **{k: (4797, 2521, 533, 280) for k in range(2, 10)}, 10: (4798, 2521, 532, 280)}
INVERSE = {GAD_POSITIVE: GAD_NEGATIVE, GAD_NEGATIVE: GAD_POSITIVE}


@pytest.fixture(scope="module")
def gad_folds(registry):
    """fold -> split -> rendered rows, for all ten real folds."""
    task = registry.get(GAD)
    return {k: {s: list(render_split(registry, task, shared_corpora(), s, options={"fold": k})) for s in task.splits} for k in GAD_FOLDS}


def test_all_ten_folds_load_with_the_documented_counts(gad_folds):
    for fold, (n_train, pos_train, n_test, pos_test) in GAD_COUNTS.items():
        train, test = gad_folds[fold]["train"], gad_folds[fold]["test"]
        assert (len(train), len(test)) == (n_train, n_test), fold
        assert sum(r["output"] == GAD_POSITIVE for r in train) == pos_train, fold
        assert sum(r["output"] == GAD_POSITIVE for r in test) == pos_test, fold
        assert [r["id"] for r in test] == [str(i) for i in range(n_test)]


def test_folds_are_a_cross_validation_split(gad_folds):
    """Each fold's train + test is the whole corpus: the union of the ten test sets."""
    key = lambda rows: Counter((r["input"], r["output"]) for r in rows)  # noqa: E731
    everything = sum((key(gad_folds[k]["test"]) for k in GAD_FOLDS), Counter())
    assert sum(everything.values()) == 5330
    for fold in GAD_FOLDS:
        assert key(gad_folds[fold]["train"]) + key(gad_folds[fold]["test"]) == everything, fold


def test_fold1_outputs_are_the_exact_inverse_of_the_released_study_data(gad_folds):
    reference_dir = shared_corpora() / "Llama2-MedTuned-reference"
    for split, n in (("test", 534), ("train", 4796)):
        ours = gad_folds[1][split]
        theirs = [row for _, row in read_jsonl(reference_dir / f"GAD-fold1-{split}.instructions.jsonl")]
        assert len(ours) == len(theirs) == n
        assert [r["input"] for r in ours] == [r["input"] for r in theirs]
        assert [r["output"] for r in ours] == [INVERSE[r["output"]] for r in theirs]


def test_gold_as_prediction_scores_one_on_every_real_split(registry, gad_folds):
    for fold in GAD_FOLDS:
        for split, rows in gad_folds[fold].items():
            scored = score_rows(registry, ({"task": GAD, "reference": r["output"], "prediction": r["output"]} for r in rows))[GAD]
            assert scored["unparsed"] == scored["gold_unparsed"] == 0
            assert scored["score"] == scored["accuracy"] == scored["precision"] == scored["recall"] == 1.0, (fold, split)


def test_gold_inverted_scores_zero(registry, gad_folds):
    rows = gad_folds[1]["test"]
    scored = score_rows(registry, ({"task": GAD, "reference": r["output"], "prediction": INVERSE[r["output"]]} for r in rows))[GAD]
    assert scored["score"] == scored["accuracy"] == 0.0


def test_samples_hold_no_real_sentence(gad_folds):
    real = {r["input"] for fold in gad_folds.values() for rows in fold.values() for r in rows}
    ours = set()
    for path in SAMPLES.rglob("*.tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            ours.update(line.split("\t"))
    assert ours and not (ours & real)
