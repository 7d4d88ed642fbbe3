"""MedNLI accuracy through the core's score path: unparsed answers stay in the denominator."""

from __future__ import annotations

from medtuned_core.scoring import score_rows


def rows(pairs):
    return [{"task": "mednli", "id": str(i), "reference": ref, "prediction": pred} for i, (ref, pred) in enumerate(pairs)]


def test_accuracy_counts_unparsed_answers_as_wrong(registry):
    result = score_rows(
        registry,
        rows(
            [
                ("Entailment", "entailment"),
                ("Contradiction", "The answer is Contradiction."),
                ("Neutral", "Entailment"),
                ("Neutral", "I cannot tell"),  # unparsed: wrong, counted, not dropped
            ]
        ),
    )["mednli"]
    assert result["metric"] == "accuracy"
    assert result["score"] == 0.5 and result["correct"] == 2
    assert result["n"] == 4 and result["unparsed"] == 1 and result["gold_unparsed"] == 0
    # Rows: gold labels; columns: predicted labels, then unparsed answers.
    assert result["confusion"] == {
        "gold": ["Entailment", "Contradiction", "Neutral"],
        "predicted": ["Entailment", "Contradiction", "Neutral", "<unparsed>"],
        "matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [1, 0, 0, 1]],
    }
    # Entailment: tp 1, gold 1, predicted 2 -> P 1/2, R 1, F1 2/3; Neutral: never right -> 0; Contradiction perfect.
    assert result["per_label"]["Entailment"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    assert result["per_label"]["Neutral"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert abs(result["macro_f1"] - (2 / 3 + 0 + 1) / 3) < 1e-12


def test_an_unparsable_gold_never_scores_as_correct(registry):
    result = score_rows(registry, rows([("garbled", "garbled"), ("Neutral", "Neutral")]))["mednli"]
    assert result["score"] == 0.5 and result["gold_unparsed"] == 1 and result["unparsed"] == 1
    # The unreadable gold has no row of the confusion table: its prediction counts nowhere but in accuracy.
    assert result["confusion"]["matrix"] == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]


def test_all_correct(registry):
    result = score_rows(registry, rows([(x, x) for x in ("Entailment", "Contradiction", "Neutral")]))["mednli"]
    assert result["score"] == 1.0 and result["macro_f1"] == 1.0
