"""Scorers: hand-computed figures, unparsed predictions counted wrong, nothing dropped or misaligned."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtuned_core import Parsed
from medtuned_core.kits.labels import KIT, UNPARSED, parse_label
from medtuned_core.scoring import score_rows
from medtuned_tasks_re.tasks import GAD_OUTPUTS, I2B2_OUTPUTS, I2B2_RELATIONS, SPECS

SPEC = {spec.name: spec for spec in SPECS}


def parse_gad(text):
    return parse_label(text, SPEC["gad"].config.aliases)


def parse_i2b2_2010(text):
    return parse_label(text, SPEC["i2b2-2010"].config.aliases)


def score_gad(golds, preds):
    return KIT.score(SPEC["gad"], golds, preds, [])


def score_i2b2_2010(golds, preds):
    return KIT.score(SPEC["i2b2-2010"], golds, preds, [])


def parsed(texts, parse):
    return [parse(t) for t in texts]


def test_gad_positive_class_figures_by_hand():
    golds = parsed(["Positive", "Positive", "Positive", "Negative", "Negative"], parse_gad)
    preds = parsed(["Positive", "Negative", "no idea", "Positive", "Negative"], parse_gad)
    out = score_gad(golds, preds)
    # tp=1; fn=2 (a Negative and an unparsed answer on Positive golds); fp=1; tn=1
    assert out["counts"] == {"tp": 1, "fp": 1, "fn": 2, "tn": 1}
    assert out["precision"] == pytest.approx(1 / 2)
    assert out["recall"] == pytest.approx(1 / 3)
    assert out["f1"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3)) == out["score"]
    assert out["accuracy"] == pytest.approx(2 / 5)
    assert out["specificity"] == pytest.approx(1 / 2)
    assert out["metric"] == "f1"


def test_gad_unparsed_on_a_negative_is_wrong_but_not_a_false_positive():
    out = score_gad(parsed(["Positive", "Negative"], parse_gad), parsed(["Positive", "???"], parse_gad))
    assert (out["precision"], out["recall"], out["f1"]) == (1.0, 1.0, 1.0)
    assert out["accuracy"] == 0.5 and out["specificity"] == 0.0
    assert out["counts"] == {"tp": 1, "fp": 0, "fn": 0, "tn": 0}


def test_gad_all_unparsed_scores_zero_not_majority_class():
    golds = parsed(["Negative"] * 9 + ["Positive"], parse_gad)
    out = score_gad(golds, parsed(["hmm"] * 10, parse_gad))
    assert out["f1"] == 0.0 and out["accuracy"] == 0.0 and out["specificity"] == 0.0


def test_i2b2_micro_over_relation_types_by_hand():
    golds = parsed(["TrAP", "TrAP", "PIP", "No Relations", "No Relations", "TeRP"], parse_i2b2_2010)
    preds = parsed(["TrAP", "No Relations", "unsure", "TrIP", "nothing to say", "TeRP"], parse_i2b2_2010)
    out = score_i2b2_2010(golds, preds)
    # Relation types only: tp=2 (TrAP, TeRP), fp=1 (TrIP on a No Relations gold),
    # fn=2 (TrAP read as No Relations; PIP unparsed). The unparsed answer on No Relations costs nothing here.
    assert out["precision"] == pytest.approx(2 / 3)
    assert out["recall"] == pytest.approx(2 / 4)
    assert out["score"] == out["f1"] == pytest.approx(4 / 7)
    # All nine classes: 4 parsed predictions, 2 right, 6 golds.
    assert out["all_classes"]["precision"] == pytest.approx(2 / 4)
    assert out["all_classes"]["recall"] == pytest.approx(2 / 6)
    assert out["all_classes"]["f1"] == pytest.approx(0.4)
    assert out["accuracy"] == pytest.approx(2 / 6)
    assert out["per_label"]["TrAP"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert out["per_label"]["PIP"]["support"] == 1 and out["per_label"]["PIP"]["recall"] == 0.0
    assert out["per_label"]["TrIP"]["precision"] == 0.0
    confusion = out["confusion"]
    assert confusion["predicted"][-1] == UNPARSED and len(confusion["matrix"]) == 9
    row = dict(zip(confusion["predicted"], confusion["matrix"][confusion["gold"].index("No Relations")], strict=True))
    assert row["TrIP"] == 1 and row[UNPARSED] == 1 and sum(row.values()) == 2


def test_i2b2_all_classes_equals_accuracy_when_everything_parses():
    golds = parsed(["TrAP", "No Relations", "TeCP", "No Relations"], parse_i2b2_2010)
    preds = parsed(["TrAP", "TrCP", "No Relations", "No Relations"], parse_i2b2_2010)
    out = score_i2b2_2010(golds, preds)
    assert out["all_classes"]["f1"] == pytest.approx(out["accuracy"]) == pytest.approx(0.5)


@pytest.mark.parametrize("score", [score_gad, score_i2b2_2010])
def test_empty_input_scores_zero(score):
    out = score([], [])
    assert out["score"] == 0.0


@pytest.mark.parametrize("score", [score_gad, score_i2b2_2010])
def test_length_mismatch_is_an_error(score):
    with pytest.raises(ValueError, match="golds"):
        score([Parsed("Positive")], [])


def test_score_rows_keeps_unparsed_rows_in_place(registry):
    """The seed code dropped unparsed rows and misaligned the rest; every row must be scored in place."""
    rows = [
        {"task": "i2b2-2010", "reference": "TrAP", "prediction": "I am not sure."},
        {"task": "i2b2-2010", "reference": "TeRP", "prediction": "TeRP"},
        {"task": "i2b2-2010", "reference": "No Relations", "prediction": "none"},
        {"task": "gad", "reference": "Positive", "prediction": "Positive"},
        {"task": "gad", "reference": "Negative", "prediction": "Positive"},
        {"task": "gad", "reference": "Negative", "prediction": ""},
    ]
    out = score_rows(registry, rows)
    assert out["i2b2-2010"]["n"] == 3 and out["i2b2-2010"]["unparsed"] == 1 and out["i2b2-2010"]["gold_unparsed"] == 0
    # Dropping row 1 would shift "TeRP" onto the TrAP gold; in place, it is TeRP vs TeRP.
    assert out["i2b2-2010"]["score"] == pytest.approx(2 * (1 / 1) * (1 / 2) / (1 + 1 / 2))
    assert out["gad"]["n"] == 3 and out["gad"]["unparsed"] == 1
    assert out["gad"]["precision"] == 0.5 and out["gad"]["recall"] == 1.0 and out["gad"]["accuracy"] == pytest.approx(1 / 3)


_gad_parsed = st.one_of(st.sampled_from(GAD_OUTPUTS).map(Parsed), st.just(Parsed(None, ok=False)))
_i2b2_parsed = st.one_of(st.sampled_from(I2B2_OUTPUTS).map(Parsed), st.just(Parsed(None, ok=False)))


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(_gad_parsed, _gad_parsed), max_size=30), pairs2=st.lists(st.tuples(_i2b2_parsed, _i2b2_parsed), max_size=30))
def test_scores_are_in_range_for_any_mix_including_unparsed_golds(pairs, pairs2):
    for score, rows in ((score_gad, pairs), (score_i2b2_2010, pairs2)):
        out = score([g for g, _ in rows], [p for _, p in rows])
        assert 0.0 <= out["score"] <= 1.0 and 0.0 <= out["accuracy"] <= 1.0
        if rows and all(g.ok and p.ok and g.value == p.value for g, p in rows) and any(g.value in ("Positive", *I2B2_RELATIONS) for g, _ in rows):
            assert out["score"] == 1.0
