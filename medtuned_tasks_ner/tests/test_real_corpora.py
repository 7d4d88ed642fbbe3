"""The five real BioBERT corpora end to end (skipped when ../shared/corpora is absent; CI has them).

Counts are SOURCES.md's table. Everything is loaded once per module: all 15 files load, render, parse
and score in well under a minute (the loader's whole-file fast path reads them in about a second).
"""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pytest

from medtuned_core.render import render_examples
from medtuned_core.scoring import parse_row, score_parsed
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_ner.loader import CorpusRepairWarning
from medtuned_tasks_ner.tasks import BY_NAME

pytestmark = requires_corpora()

# SOURCES.md §1: dataset, file split -> (sentences, B, I, O)
COUNTS = {
    ("ncbi-disease", "train"): (5424, 5134, 6115, 124452),
    ("ncbi-disease", "validation"): (923, 787, 1090, 22092),
    ("ncbi-disease", "test"): (940, 960, 1087, 22450),
    ("bc5cdr-disease", "train"): (4560, 4182, 2918, 111070),
    ("bc5cdr-disease", "validation"): (4581, 4246, 2723, 110484),
    ("bc5cdr-disease", "test"): (4797, 4424, 2737, 117589),
    ("bc5cdr-chem", "train"): (4560, 5203, 1900, 111067),
    ("bc5cdr-chem", "validation"): (4581, 5347, 1748, 110358),
    ("bc5cdr-chem", "test"): (4797, 5385, 1628, 117737),
    ("bc2gm", "train"): (12574, 15197, 22104, 318104),
    ("bc2gm", "validation"): (2519, 3061, 4437, 63544),
    ("bc2gm", "test"): (5038, 6325, 8776, 128364),
    ("jnlpba", "train"): (14690, 32178, 64790, 346685),
    ("jnlpba", "validation"): (3856, 8575, 16773, 91865),
    ("jnlpba", "test"): (3856, 6241, 12655, 95813),
}


@pytest.fixture(scope="module")
def corpora(registry):
    """Every split of the five public corpora, loaded through the hook with repairs turned into errors."""
    root = shared_corpora()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusRepairWarning)
        for name, split in COUNTS:
            out[name, split] = list(registry.load(registry.get(name), root, split, {"repair": False}))
    return out


def test_all_fifteen_files_read_with_the_documented_counts(corpora):
    for key, (sentences, b, i, o) in COUNTS.items():
        examples = corpora[key]
        tags = Counter(t for e in examples for t in e["tags"])
        assert (len(examples), tags["B"], tags["I"], tags["O"]) == (sentences, b, i, o), key
        assert len({e["id"] for e in examples}) == sentences


def test_gold_as_prediction_scores_one_on_every_split(registry, corpora):
    for (name, split), examples in corpora.items():
        task = registry.get(name)
        rows = render_examples(registry, task, examples, split)
        parsed = [parse_row(registry, {"task": name, "input": r["input"], "reference": r["output"], "prediction": r["output"]}) for r in rows]
        result = score_parsed(registry, parsed)[name]
        assert result["score"] == 1.0 and result["strict"]["f1"] == 1.0, (name, split, result)
        assert (result["unparsed"], result["gold_unparsed"], result["misaligned"]) == (0, 0, 0), (name, split)
        assert result["gold_entities"] == COUNTS[name, split][1]  # clean B/I files: one entity per B


def test_ncbi_validation_renders_byte_identical_to_the_study(registry, corpora):
    reference = shared_corpora() / "Llama2-MedTuned-reference" / "NCBI-disease-eval.instructions.jsonl"
    theirs = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines() if line.strip()]
    ours = list(render_examples(registry, registry.get("ncbi-disease"), corpora["ncbi-disease", "validation"], "validation"))
    assert len(theirs) == len(ours) == 923
    for k, (mine, study) in enumerate(zip(ours, theirs, strict=True)):
        assert mine["input"] == study["input"], k
        assert mine["output"] == study["output"], k
    # Why the parser must align by position: most sentences repeat a word.
    assert sum(len(set(e["tokens"])) < len(e["tokens"]) for e in corpora["ncbi-disease", "validation"]) == 696


def test_no_sample_sentence_comes_from_a_real_corpus(registry, samples, corpora):
    real = {" ".join(e["tokens"]) for examples in corpora.values() for e in examples}
    for name in BY_NAME:
        task = registry.get(name)
        for split in task.splits:
            for e in registry.load(task, samples, split):
                assert " ".join(e["tokens"]) not in real, (name, split, e["id"])
