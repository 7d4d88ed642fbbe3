"""Metrics through the score hook (medtuned_score) and the core's score_rows, with hand-computed expectations."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import accuracy_score, f1_score

from medtuned_core import Parsed
from medtuned_core.kits.labels import KIT
from medtuned_core.kits.text import rouge_f1
from medtuned_core.scoring import score_rows
from medtuned_tasks_qa.tasks import SPECS

PUBMEDQA = next(spec for spec in SPECS if spec.name == "pubmedqa")


def decision_scores(golds, preds):
    return KIT.score(PUBMEDQA, golds, preds, [])


OPTIONS = {"A": "Ampicillin", "B": "Ceftriaxone", "C": "Doxycycline", "D": "Nitrofurantoin"}


def medqa_rows(answers):
    medqa = next(spec for spec in SPECS if spec.name == "medqa")
    body = KIT.render(medqa, {"id": "1", "question": "Which drug?", "options": OPTIONS, "answer_idx": "D", "answer": "Nitrofurantoin"}, "")
    return [{"task": "medqa", "input": body["input"], "reference": body["output"], "prediction": a} for a in answers]


def test_medqa_accuracy_counts_unparsed_as_wrong(registry):
    rows = medqa_rows(["D. Nitrofurantoin", "OPTION D IS CORRECT.", "nitrofurantoin", "B", "no idea", "Ampicillin or doxycycline"])
    result = score_rows(registry, rows)["medqa"]
    assert result["metric"] == "accuracy" and result["n"] == 6 and result["correct"] == 3
    assert result["score"] == pytest.approx(0.5)
    assert result["unparsed"] == 2 and result["gold_unparsed"] == 0


def test_medqa_score_hook_directly(registry):
    task = registry.get("medqa")
    golds = [Parsed("A"), Parsed("B"), Parsed("C")]
    preds = [Parsed("A"), Parsed(None, ok=False), Parsed("D")]
    out = registry.pm.hook.medtuned_score(task=task, golds=golds, preds=preds, rows=[{}] * 3)
    assert (out["metric"], out["score"], out["correct"]) == ("accuracy", pytest.approx(1 / 3), 1)
    assert out["pred_counts"] == {"A": 1, "B": 0, "C": 0, "D": 1}  # the unparsed answer is in no label's count
    assert registry.score(task, [], [], [])["score"] == 0.0


def test_pubmedqa_matches_the_official_evaluation_when_all_parse():
    rng = random.Random(3)
    truth = [rng.choice(["yes", "yes", "no", "maybe"]) for _ in range(300)]
    guess = [t if rng.random() < 0.6 else rng.choice(["yes", "no", "maybe"]) for t in truth]
    out = decision_scores([Parsed(t) for t in truth], [Parsed(g) for g in guess])
    # pubmedqa's evaluation.py: accuracy_score and f1_score(average="macro") over the labels present.
    assert out["score"] == pytest.approx(accuracy_score(truth, guess))
    assert out["macro_f1"] == pytest.approx(f1_score(truth, guess, average="macro"))
    assert {label: v["f1"] for label, v in out["per_label"].items()} == pytest.approx(
        dict(zip(["yes", "no", "maybe"], f1_score(truth, guess, labels=["yes", "no", "maybe"], average=None), strict=True))
    )


def test_pubmedqa_unparsed_is_wrong_but_not_a_class(registry):
    rows = [
        {"task": "pubmedqa", "reference": gold, "prediction": pred}
        for gold, pred in [("yes", "Yes."), ("no", "It is unclear to me"), ("no", "hmm"), ("maybe", "maybe")]
    ]
    result = score_rows(registry, rows)["pubmedqa"]
    assert result["score"] == pytest.approx(0.5) and result["unparsed"] == 1
    # yes: P=1 R=1 -> 1; no: never predicted -> 0; maybe: P=1/2 (one gold-no read as maybe), R=1 -> 2/3.
    assert {label: v["f1"] for label, v in result["per_label"].items()} == pytest.approx({"yes": 1.0, "no": 0.0, "maybe": 2 / 3})
    assert result["macro_f1"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert result["pred_counts"] == {"yes": 1, "no": 0, "maybe": 2}


def test_rouge_values():
    assert rouge_f1("Take ibuprofen twice daily.", "Take ibuprofen twice daily.")["rougeL"] == 1.0
    # LCS "take ibuprofen daily" = 3 of 4 reference and 3 of 5 prediction tokens: F1 = 2*(3/5*3/4)/(3/5+3/4) = 2/3.
    assert rouge_f1("Take ibuprofen twice daily.", "Take ibuprofen with food daily")["rougeL"] == pytest.approx(2 / 3)
    assert rouge_f1("headaches", "headache")["rougeL"] == 1.0  # Porter stemming
    assert rouge_f1("rest", "")["rougeL"] == 0.0
    assert rouge_f1("", "")["rougeL"] == 1.0


def test_chatdoctor_rouge_is_labelled_a_weak_proxy(registry):
    rows = [
        {"task": "chatdoctor", "reference": "Drink fluids and rest.", "prediction": "Drink fluids and rest."},
        {"task": "chatdoctor", "reference": "Drink fluids and rest.", "prediction": "See a cardiologist."},
        {"task": "chatdoctor", "reference": "Drink fluids and rest.", "prediction": "  "},
    ]
    result = score_rows(registry, rows)["chatdoctor"]
    assert result["metric"] == "rougeL_f1" and result["score"] == pytest.approx(1 / 3)
    assert result["unparsed"] == 1 and "weak proxy" in result["note"]
    assert result["rouge1_f1"] == pytest.approx(1 / 3) and result["rouge2_f1"] == pytest.approx(1 / 3)


def test_pmc_llama_rouge_plus_option_accuracy(registry):
    pmc_input = "Reply with one option.\n\n###Question: Which?\n###Options:\nA. one\nB. two\nC. three\nD. four"
    gold = "###Answer: OPTION C IS CORRECT."
    rows = [
        {"task": "pmc-llama", "input": pmc_input, "reference": gold, "prediction": gold},
        {"task": "pmc-llama", "input": pmc_input, "reference": gold, "prediction": "###Answer: OPTION B IS CORRECT."},
        {"task": "pmc-llama", "input": pmc_input, "reference": gold, "prediction": "I cannot tell."},
        {"task": "pmc-llama", "input": "###Term: Bradycardia", "reference": "A slow heart rate.", "prediction": "A slow heart rate."},
    ]
    result = score_rows(registry, rows)["pmc-llama"]
    assert result["option_rows"] == 3 and result["option_accuracy"] == pytest.approx(1 / 3) and result["option_unparsed"] == 1
    expected = (1 + rouge_f1(gold, "###Answer: OPTION B IS CORRECT.")["rougeL"] + rouge_f1(gold, "I cannot tell.")["rougeL"] + 1) / 4
    assert result["score"] == pytest.approx(expected) and 0.5 < result["score"] < 1
