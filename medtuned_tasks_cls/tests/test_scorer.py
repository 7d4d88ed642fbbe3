"""HoC scoring: document-level union (BLUE eval_hoc), label-averaged F1s, sentence-level micro-F1."""

from __future__ import annotations

import random

import pytest

from medtuned_core.kits.labels.score import blue_document_prf
from medtuned_core.scoring import score_rows
from medtuned_tasks_cls.tasks import DISPLAY, HALLMARKS

PS, GS, CD, RI, A, IM, GI, TPI, CE, ID = (DISPLAY[h] for h in HALLMARKS)


def rows(items):
    return [{"task": "hoc", "id": row_id, "reference": ref, "prediction": pred} for row_id, ref, pred in items]


# Four abstracts. Gold / predicted hallmarks per document (unions over sentences):
#   D1 {PS, CD} / {PS}            PS predicted on the wrong sentence: right at document level only
#   D2 {}       / {}              no hallmark, none predicted
#   D3 {IM}     / {IM, A, ?}      ? = an unparsed answer on a None sentence
#   D4 {}       / {GI}
CASE = rows(
    [
        ("10000001_0", PS, "None"),
        ("10000001_1", CD, PS),
        ("10000002_0", "None", "none"),
        ("10000003_0", IM, f"{IM}, {A}"),
        ("10000003_1", "None", "I am not sure"),
        ("10000004_0", "None", GI),
    ]
)


def test_hand_computed_case(registry):
    result = score_rows(registry, CASE)["hoc"]
    assert result["metric"] == "document_f1" and result["documents"] == 4
    assert result["n"] == 6 and result["unparsed"] == 1
    # Per document P / R: D1 1 / 0.5, D2 1 / 1 (nothing to find, nothing claimed), D3 1/3 / 1, D4 0 / 0.
    assert result["document_precision"] == pytest.approx((1 + 1 + 1 / 3 + 0) / 4)
    assert result["document_recall"] == pytest.approx((0.5 + 1 + 1 + 0) / 4)
    assert result["score"] == pytest.approx(35 / 58)  # 2PR/(P+R) with P = 7/12, R = 5/8
    # Documents, micro: tp PS IM = 2; fp A ? GI = 3; fn CD = 1 -> 4/8.
    assert result["document_micro_f1"] == pytest.approx(0.5)
    # Documents, macro over ten hallmarks: PS 1, IM 1, CD 0, A 0, GI 0, five unseen hallmarks 1 each.
    assert result["document_macro_f1"] == pytest.approx(0.7)
    assert result["document_f1_per_label"]["CD"] == 0.0 and result["document_f1_per_label"]["TPI"] == 1.0
    # Sentences, micro: tp IM = 1; fp PS A ? GI = 4; fn PS CD = 2 -> 2/8.
    assert result["sentence_micro_f1"] == pytest.approx(0.25)
    assert result["sentence_exact_match"] == pytest.approx(1 / 6)


def test_an_unparsed_answer_is_wrong_even_where_the_gold_has_no_hallmark(registry):
    result = score_rows(registry, rows([("10000009_0", "None", "blah"), ("10000009_1", "None", "None")]))["hoc"]
    assert result["unparsed"] == 1
    assert result["score"] == 0.0 and result["sentence_micro_f1"] == 0.0 and result["sentence_exact_match"] == 0.5


def test_rows_without_ids_are_their_own_documents(registry):
    items = [{"task": "hoc", "reference": PS, "prediction": PS}, {"task": "hoc", "reference": CD, "prediction": "None"}]
    result = score_rows(registry, items)["hoc"]
    assert result["documents"] == 2
    assert result["score"] == pytest.approx(2 * 0.5 * 0.5 / 1.0)  # P = (1 + 0) / 2, R = (1 + 0) / 2


def test_perfect_predictions_score_one_in_any_order(registry):
    result = score_rows(registry, rows([("10000005_0", f"{CD}, {PS}", f"{PS}, {CD}"), ("10000005_1", "", "")]))["hoc"]
    assert result["unparsed"] == 0 and result["gold_unparsed"] == 0
    assert result["score"] == result["document_micro_f1"] == result["sentence_micro_f1"] == result["sentence_exact_match"] == 1.0


def _blue_reference(golds, preds):
    """BLUE eval_hoc.py's arithmetic, transcribed for documents whose gold is non-empty (its domain)."""
    precisions, recalls = [], []
    for gold, pred in zip(golds, preds, strict=True):
        hit = len(gold & pred)
        precisions.append(0 if not pred else hit / len(pred))
        recalls.append(hit / len(gold))
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def test_agrees_with_blue_wherever_blue_is_defined():
    rng = random.Random(5)
    for _ in range(200):
        n = rng.randint(1, 12)
        golds = [frozenset(rng.sample(HALLMARKS, rng.randint(1, 3))) for _ in range(n)]
        preds = [frozenset(rng.sample(HALLMARKS, rng.randint(0, 3))) for _ in range(n)]
        assert blue_document_prf(golds, preds) == pytest.approx(_blue_reference(golds, preds))


def test_no_rows():
    assert blue_document_prf([], []) == (0.0, 0.0, 0.0)
