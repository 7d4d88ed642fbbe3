"""The shipped samples: every split of every task loads cleanly, with the entities and types each is built to hold."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from medtuned_core.io import read_text
from medtuned_core.kits.tagging.readers import CorpusRepairWarning, Repairs, TagChecker, _fast_tsv, _slow_tagged
from medtuned_tasks_ner.tasks import BY_NAME, I2B2_2012_TAGS, SPECS

SPECS_BY_NAME = {s.name: s for s in SPECS}
I2B2 = BY_NAME["i2b2-2012"]
SAMPLE_SIZES = {"train": 64, "validation": 48, "test": 48}


def load(registry, task, root: Path, split: str = "train", **options):
    return list(registry.load(registry.get(task.name), root, split, options))


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_samples_load_in_every_split(registry, samples, name):
    task = registry.get(name)
    for split, size in SAMPLE_SIZES.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error", CorpusRepairWarning)  # our samples need no repair
            examples = load(registry, task, samples, split)
        assert len(examples) == size
        assert len({e["id"] for e in examples}) == size
        allowed = set(task.labels)
        for e in examples:
            assert e["tokens"] and len(e["tokens"]) == len(e["tags"])
            assert set(e["tags"]) <= allowed
        assert any(t != "O" for e in examples for t in e["tags"]), "samples must contain entities"


def test_sample_i2b2_uses_every_entity_type(registry, samples):
    tags = {t for e in load(registry, I2B2, samples) for t in e["tags"]}
    assert {t[2:] for t in tags if t != "O"} == {t[2:] for t in I2B2_2012_TAGS if t != "O"}


def test_bc5cdr_chem_and_disease_share_sentences(registry, samples):
    chem = load(registry, BY_NAME["bc5cdr-chem"], samples, "test")
    disease = load(registry, BY_NAME["bc5cdr-disease"], samples, "test")
    assert [e["tokens"] for e in chem] == [e["tokens"] for e in disease]
    assert [e["tags"] for e in chem] != [e["tags"] for e in disease]


@pytest.mark.parametrize("name", ["ncbi-disease", "bc5cdr-chem", "bc2gm", "jnlpba"])
def test_fast_reader_agrees_with_line_reader(samples, name, tmp_path):
    spec = SPECS_BY_NAME[name]
    path = Path(samples, spec.info.data_folder, "train.tsv")
    text = read_text(path)
    fast = _fast_tsv(text, frozenset(spec.info.labels), check_i_start=True)
    assert fast is not None
    repairs = Repairs(path, True)
    slow = _slow_tagged(path, text, spec.config.layout, TagChecker(spec.config.scheme, path, repairs), repairs)
    assert fast == slow
    assert fast[1][2] == len(fast[0][0]) + 2  # second sentence starts after the first and its blank line
