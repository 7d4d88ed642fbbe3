"""The tagging kit's entity F1 with seqeval: known answers, default vs strict mode in every scheme, per-type
figures, the O-run shortcut, and per-sentence units whose combination equals the score exactly."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import sequence_labeling, v1
from seqeval.scheme import IOB2

from medtuned_core.kits.declare import DeclaredTasks, declare
from medtuned_core.kits.tagging.scheme import SCHEMES, TagScheme, tag_set
from medtuned_core.kits.tagging.score import entity_units, score_entities
from medtuned_core.plugins import make_registry
from medtuned_core.scoring import score_rows
from medtuned_core.types import Parsed

IOB2_UNTYPED = TagScheme(tag_set("iob2"), False)


def P(tags: str, **diagnostics) -> Parsed:
    return Parsed(tags.split(), True, diagnostics)


def score(golds: list[str], preds: list[str], per_type: bool = False, scheme: TagScheme = IOB2_UNTYPED) -> dict:
    return score_entities([P(g) for g in golds], [P(p) for p in preds], scheme, per_type)


@pytest.fixture(scope="module")
def registry():
    spec = declare(name="ncbi-disease", kit="tagging", family="ner", description="A test task.", templates=("Tag it.",))
    return make_registry([DeclaredTasks([spec])], autoload=False)


def test_known_answer():
    # gold entities: (0-1), (3), (5-6); predicted: (0-1) right, (3) missed, (5) wrong span, (8) spurious.
    out = score(["B I O B O B I O O"], ["B I O O O B O O B"])
    assert out["precision"] == pytest.approx(1 / 3) and out["recall"] == pytest.approx(1 / 3)
    assert out["score"] == out["f1"] == pytest.approx(1 / 3)
    assert out["metric"] == "entity_f1" and out["gold_entities"] == 3


def test_default_mode_is_conlleval_and_strict_stands_beside_it():
    # An entity opened with I: conlleval (seqeval default) counts it; strict IOB2 does not.
    out = score(["B I O B"], ["I I O B"])
    assert out["score"] == 1.0
    assert out["strict"]["precision"] == 1.0 and out["strict"]["recall"] == pytest.approx(0.5)
    assert out["strict"]["f1"] == pytest.approx(2 / 3)


def test_typed_scores_have_per_type_figures():
    golds = ["B-PROBLEM I-PROBLEM O B-TEST O B-TREATMENT", "B-PROBLEM O O"]
    preds = ["B-PROBLEM I-PROBLEM O B-TREATMENT O B-TREATMENT", "O O B-TEST"]
    out = score(golds, preds, per_type=True)
    assert out["per_type"]["PROBLEM"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert out["per_type"]["TEST"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert out["per_type"]["TREATMENT"]["precision"] == 0.5 and out["per_type"]["TREATMENT"]["recall"] == 1.0
    assert out["precision"] == pytest.approx(2 / 4) and out["recall"] == pytest.approx(2 / 4)  # 4 predicted, 4 gold, 2 right
    assert "per_type" not in score(["B O"], ["B O"])


def test_a_type_change_inside_an_entity_splits_it():
    out = score(["B-TEST I-TEST"], ["B-TEST I-PROBLEM"], per_type=True)
    assert out["score"] == 0.0 and out["strict"]["f1"] == 0.0


def test_length_mismatch_and_misalignment_are_counted():
    golds = [P("B I O"), P("O B"), P("B O")]
    preds = [P("B I", missing=1), P("O B O O"), P("B O", extra=2)]
    out = score_entities(golds, preds, IOB2_UNTYPED, per_type=False)
    assert out["length_mismatch"] == 2 and out["misaligned"] == 3
    assert out["parse"]["missing"] == 1 and out["parse"]["extra"] == 2
    assert out["score"] == 1.0  # the padding with O keeps the entities the prediction did give


def test_no_entities_anywhere_scores_one_unlike_seqeval():
    # Nothing to find and nothing wrongly found: gold-as-prediction is 1.0 on a set without entities too.
    for golds, preds in ((["O O"], ["O O"]), ([], [])):
        out = score(golds, preds)
        assert out["score"] == out["strict"]["f1"] == 1.0
        assert entity_units([P(g) for g in golds], [P(p) for p in preds], [], IOB2_UNTYPED).combine([0, 0, 0]) == 1.0
    assert score(["O O"], ["B O"])["score"] == 0.0 and score(["B O"], ["O O"])["score"] == 0.0


def test_collapsing_shared_o_runs_matches_seqeval_on_the_raw_sequences():
    rng = random.Random(7)
    tags = ["O"] * 6 + ["B-A", "I-A", "B-B", "I-B"]
    for _ in range(200):
        golds = [[rng.choice(tags) for _ in range(rng.randint(1, 25))] for _ in range(rng.randint(1, 8))]
        preds = [[t if rng.random() < 0.7 else rng.choice(tags) for t in g] for g in golds]
        out = score_entities([Parsed(g) for g in golds], [Parsed(p) for p in preds], TagScheme(tag_set("iob2", ("A", "B")), True), per_type=True)
        p, r, f, _ = sequence_labeling.precision_recall_fscore_support(golds, preds, average="micro", zero_division=0)
        sp, sr, sf, _ = v1.precision_recall_fscore_support(golds, preds, average="micro", zero_division=0, mode="strict", scheme=IOB2)
        assert (out["precision"], out["recall"], out["f1"]) == pytest.approx((p, r, f))
        assert (out["strict"]["precision"], out["strict"]["recall"], out["strict"]["f1"]) == pytest.approx((sp, sr, sf))


def test_score_rows_through_the_hooks(registry):
    reference = "Acute : B\npain : I\nand : O\nfever : B"
    rows = [
        {"task": "ncbi-disease", "input": "Acute pain and fever", "reference": reference, "prediction": "Acute: B\npain: I\nand: O\nfever: O"},
        {"task": "ncbi-disease", "input": "Acute pain and fever", "reference": reference, "prediction": "I cannot help with that."},
        {"task": "ncbi-disease", "input": "Acute pain and fever", "reference": reference, "prediction": reference},
    ]
    out = score_rows(registry, rows)["ncbi-disease"]
    # gold: 6 entities; predicted: 1 + 0 + 2, all correct.
    assert out["precision"] == 1.0 and out["recall"] == pytest.approx(3 / 6) and out["score"] == pytest.approx(2 / 3)
    assert (out["n"], out["unparsed"], out["gold_unparsed"], out["misaligned"]) == (3, 1, 0, 1)


def _random_corpus(rng: random.Random, labels: tuple[str, ...]) -> tuple[list[list[str]], list[list[str]]]:
    golds = [[rng.choice(labels) if rng.random() < 0.4 else "O" for _ in range(rng.randint(1, 20))] for _ in range(rng.randint(1, 12))]
    preds = [[t if rng.random() < 0.75 else rng.choice(labels) for t in g] for g in golds]
    return golds, preds


@pytest.mark.parametrize("name", sorted(SCHEMES))
@pytest.mark.parametrize("types", [(), ("Organ", "Cell")])
def test_every_scheme_agrees_with_seqeval_called_directly(name, types):
    from seqeval import scheme as seqeval_schemes
    from seqeval.metrics import f1_score

    rng = random.Random(f"{name}{types}")
    labels = tag_set(name, types)
    scheme = TagScheme(labels, bool(types), name)
    strict = getattr(seqeval_schemes, name.upper())
    loose = {"L": "E", "U": "S"}

    def seqeval_tags(seq):  # untyped tags get a type; BILOU's L/U read as E/S in the default mode
        return [t if t == "O" or "-" in t else f"{t}-ENT" for t in seq]

    for _ in range(60):
        golds, preds = _random_corpus(rng, labels)
        out = score_entities([Parsed(g) for g in golds], [Parsed(p) for p in preds], scheme, per_type=bool(types))
        if out["gold_entities"] == 0 and out["score"] == 1.0:
            continue  # the deliberate 1.0 for a set without entities
        g, p = [seqeval_tags(s) for s in golds], [seqeval_tags(s) for s in preds]
        dg, dp = ([[loose.get(t[0], t[0]) + t[1:] for t in s] for s in y] for y in (g, p))
        assert out["score"] == pytest.approx(f1_score(dg, dp, zero_division=0))
        assert out["strict"]["f1"] == pytest.approx(f1_score(g, p, mode="strict", scheme=strict, zero_division=0))
        assert out["strict"]["mode"] == f"seqeval strict {name.upper()}"


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_units_combine_to_the_score_exactly(name):
    import numpy as np

    rng = random.Random(name)
    labels = tag_set(name, ("X", "Y"))
    scheme = TagScheme(labels, True, name)
    for _ in range(80):
        golds, preds = _random_corpus(rng, labels)
        golds_p, preds_p = [Parsed(g) for g in golds], [Parsed(p[: rng.randint(0, len(p))] if rng.random() < 0.1 else p) for p in preds]
        rows = [{"id": f"s{k}"} for k in range(len(golds))]
        units = entity_units(golds_p, preds_p, rows, scheme)
        assert units.unit == "sentence" and units.ids == [r["id"] for r in rows] and len(units.stats) == len(golds)
        total = np.asarray(units.stats).sum(axis=0)
        assert float(units.combine(total)) == score_entities(golds_p, preds_p, scheme, per_type=False)["score"]  # exactly, not approx
        # Vectorised over resamples, as a bootstrap calls it.
        picks = np.asarray(units.stats)[np.random.default_rng(0).integers(0, len(golds), size=(5, len(golds)))].sum(axis=1)
        assert units.combine(picks).shape == (5,)
