"""Bootstrap intervals and paired tests (stats.py), through both paths: a plugin's medtuned_score_units
(summed per-unit statistics) and the generic fallback that rescores resamples through medtuned_score."""

from __future__ import annotations

import math
import random
import re
import sys

import evaluate_helpers as helpers
import numpy as np
import pytest
from plugin_helpers import toy_module

from medtuned_core import UnitScores, hookimpl
from medtuned_core.plugins import make_registry
from medtuned_core.scoring import parse_row, score_parsed, score_rows, task_units
from medtuned_core.stats import RescoredUnits, SummedUnits, in_id_order, interval, mcnemar, paired_difference, replicates


def yesno_rows(n: int, accuracy: float, seed: int = 0) -> list[dict]:
    """Score rows of the toy yes/no task with a given share of right answers (shuffled)."""
    rng = random.Random(seed)
    right = [k < round(accuracy * n) for k in range(n)]
    rng.shuffle(right)
    golds = [rng.choice(["yes", "no"]) for _ in range(n)]
    flip = {"yes": "no", "no": "yes"}
    return [
        {"task": "toy-yesno", "id": f"q{k}", "reference": g, "prediction": g if ok else flip[g]} for k, (g, ok) in enumerate(zip(golds, right, strict=True))
    ]


class YesNoUnits:
    """medtuned_score_units for the toy yes/no task: (correct, 1) per example."""

    @hookimpl
    def medtuned_score_units(self, task, golds, preds, rows):
        if task.name != "toy-yesno":
            return None
        correct = [g.value == p.value and p.ok for g, p in zip(golds, preds, strict=True)]
        return UnitScores("example", [r["id"] for r in rows], [[float(c), 1.0] for c in correct], lambda s: s[..., 0] / s[..., 1], correct)


class TaggerUnits:
    """medtuned_score_units for the toy tagger's micro F1: (tp, fp, fn) per sentence."""

    @hookimpl
    def medtuned_score_units(self, task, golds, preds, rows):
        if task.name != "toy-tagger":
            return None
        table = []
        for g, p in zip(golds, preds, strict=True):
            gold, pred = helpers.spans(g.value), helpers.spans(p.value if p.ok else [])
            table.append([len(gold & pred), len(pred - gold), len(gold - pred)])
        return UnitScores("sentence", [r["id"] for r in rows], table, f1_of_counts)


def f1_of_counts(s):
    tp, fp, fn = s[..., 0], s[..., 1], s[..., 2]
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros_like(den, dtype=float), where=den > 0)


def test_bootstrap_agrees_with_the_binomial_interval_at_n_500():
    """An accuracy's percentile bootstrap matches the closed-form (Wald) binomial interval within 0.01."""
    registry = make_registry([toy_module(), YesNoUnits()], autoload=False)
    result = score_rows(registry, yesno_rows(500, 0.7), n_boot=2000, level=0.95)["toy-yesno"]
    p, half = result["score"], 1.959964 * math.sqrt(0.7 * 0.3 / 500)
    assert p == pytest.approx(0.7)
    assert result["ci_low"] == pytest.approx(p - half, abs=0.01) and result["ci_high"] == pytest.approx(p + half, abs=0.01)
    assert (result["n_boot"], result["ci_level"], result["ci_unit"]) == (2000, 0.95, "example")


def test_the_interval_narrows_as_n_grows():
    registry = make_registry([toy_module(), YesNoUnits()], autoload=False)
    widths = []
    for n in (50, 200, 800):
        result = score_rows(registry, yesno_rows(n, 0.6), n_boot=500)["toy-yesno"]
        assert result["ci_low"] <= result["score"] <= result["ci_high"]
        widths.append(result["ci_high"] - result["ci_low"])
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4, rel=0.3)  # ~ 1 / sqrt(n)


def test_fallback_finds_a_mean_of_rows_and_gives_the_interval_of_unit_sums():
    """Without medtuned_score_units, an accuracy (a mean of the rows' own scores, checked) is resampled as
    summed units too — with the same draws, the same interval as the plugin's own units."""
    rows = yesno_rows(120, 0.55, seed=3)
    plain = make_registry([toy_module()], autoload=False)
    fast = score_rows(make_registry([toy_module(), YesNoUnits()], autoload=False), rows, n_boot=300)["toy-yesno"]
    slow = score_rows(plain, rows, n_boot=300)["toy-yesno"]
    assert (fast["ci_low"], fast["ci_high"]) == (slow["ci_low"], slow["ci_high"])
    items = [parse_row(plain, r) for r in rows]
    units = task_units(plain, plain.get("toy-yesno"), items, slow)
    assert isinstance(units, SummedUnits) and units.correct.sum() == round(0.55 * 120)


def test_fallback_and_units_agree_on_a_corpus_level_f1_and_ignore_row_order():
    rng = random.Random(7)
    rows = []
    for k in range(60):
        sentence = helpers.SENTENCES[k % len(helpers.SENTENCES)]
        tags = [y for _, y in sentence]
        guess = [y if rng.random() < 0.8 else rng.choice("BIO") for y in tags]
        text = lambda ys, s=sentence: "\n".join(f"{t} : {y}" for (t, _), y in zip(s, ys, strict=True))  # noqa: E731
        rows.append({"task": "toy-tagger", "id": f"s{k}", "input": " ".join(t for t, _ in sentence), "reference": text(tags), "prediction": text(guess)})
    plain = make_registry([toy_module(), sys.modules[helpers.__name__]], autoload=False)
    fast = make_registry([toy_module(), sys.modules[helpers.__name__], TaggerUnits()], autoload=False)
    slow_result = score_rows(plain, rows, n_boot=200)["toy-tagger"]
    fast_result = score_rows(fast, rows, n_boot=200)["toy-tagger"]
    shuffled = score_rows(fast, random.Random(1).sample(rows, len(rows)), n_boot=200)["toy-tagger"]
    assert fast_result["ci_unit"] == "sentence" and slow_result["ci_unit"] == "example"
    items = [parse_row(plain, r) for r in rows]
    assert isinstance(task_units(plain, plain.get("toy-tagger"), items, slow_result), RescoredUnits)  # an F1 is no mean of rows
    assert fast_result["ci_low"] == pytest.approx(slow_result["ci_low"]) and fast_result["ci_high"] == pytest.approx(slow_result["ci_high"])
    assert (shuffled["ci_low"], shuffled["ci_high"]) == (fast_result["ci_low"], fast_result["ci_high"])


def test_no_interval_without_resamples_and_none_for_an_empty_task():
    registry = make_registry([toy_module()], autoload=False)
    assert "ci_low" not in score_rows(registry, yesno_rows(10, 0.5))["toy-yesno"]
    empty = SummedUnits("example", [], np.zeros((0, 2)), lambda s: s[..., 0] / s[..., 1])
    assert interval(empty, 100) == {"ci_low": None, "ci_high": None, "n_boot": 0, "ci_level": 0.95, "ci_unit": "example"}


@pytest.mark.parametrize(
    "units, message",
    [
        (UnitScores("example", ["a", "b"], [[1.0, 1.0], [0.0, 1.0]], lambda s: s[..., 0]), "combines the summed stats to"),
        (UnitScores("example", ["a", "a"], [[1.0, 1.0], [0.0, 1.0]], lambda s: s[..., 0] / s[..., 1]), "same unit id twice"),
        (UnitScores("example", ["a", "b"], [[1.0, 1.0]], lambda s: s[..., 0] / s[..., 1]), "not 2 rows of finite numbers"),
        (UnitScores("example", ["a", "b"], [[1.0, 1.0], [0.0, 1.0]], lambda s: float(s[0]) / s[1]), "combine that fails"),
        ({"score": 0.5}, "not UnitScores"),
    ],
)
def test_a_plugin_breaking_the_units_contract_is_named_in_one_line(units, message):
    class Broken:
        @hookimpl
        def medtuned_score_units(self, task, golds, preds, rows):
            return units

    registry = make_registry([toy_module(), Broken()], autoload=False)
    rows = [{"task": "toy-yesno", "id": "a", "reference": "yes", "prediction": "yes"}, {"task": "toy-yesno", "id": "b", "reference": "no", "prediction": "yes"}]
    # Like every hook failure, it is that task's error entry (one line naming the plugin); nothing raises.
    (result,) = score_rows(registry, rows, n_boot=10).values()
    assert re.search(rf"task 'toy-yesno': medtuned_score_units .*{message}", result["error"]) and "\n" not in result["error"], result


def test_paired_bootstrap_and_mcnemar_on_a_real_and_a_null_difference():
    registry = make_registry([toy_module()], autoload=False)  # no score_units: the rows' scores give correctness
    task = registry.get("toy-yesno")
    base = yesno_rows(300, 0.6, seed=1)
    better = [dict(r, prediction=r["reference"]) if k % 3 == 0 else r for k, r in enumerate(base)]  # fixes a third of the rows

    def units(rows):
        items = [parse_row(registry, r) for r in rows]
        result = score_parsed(registry, items)["toy-yesno"]
        return result["score"], in_id_order(task_units(registry, task, items, result))

    (score_a, a), (score_b, b) = units(base), units(better)
    ra, rb = replicates(a, 1000), replicates(b, 1000)
    null = paired_difference(0.0, ra - ra)
    real = paired_difference(score_b - score_a, rb - ra)
    assert null["p_bootstrap"] == 1.0 and null["ci_low"] == null["ci_high"] == 0.0
    assert real["p_bootstrap"] < 0.01 and 0 < real["ci_low"] < score_b - score_a < real["ci_high"]
    assert mcnemar(a.correct, a.correct)["p"] == 1.0
    test = mcnemar(a.correct, b.correct)
    assert test["only_a"] == 0 and test["only_b"] > 25 and test["test"] == "chi2" and test["p"] < 0.01


def test_mcnemar_matches_scipy_exact_and_chi2():
    scipy_stats = pytest.importorskip("scipy.stats")
    for only_a, only_b in [(3, 9), (0, 7), (10, 10), (1, 20)]:
        a = np.array([True] * only_a + [False] * only_b)
        got = mcnemar(a, ~a)
        assert got["test"] == "exact" and got["p"] == pytest.approx(scipy_stats.binomtest(only_a, only_a + only_b).pvalue)
    a = np.array([True] * 30 + [False] * 50)
    got = mcnemar(a, ~a)
    assert got["test"] == "chi2" and got["p"] == pytest.approx(scipy_stats.chi2.sf((abs(30 - 50) - 1) ** 2 / 80, 1))


def test_large_test_sets_are_drawn_in_chunks_with_the_same_draws(monkeypatch):
    import medtuned_core.stats as stats

    units = SummedUnits("example", [str(k) for k in range(300)], np.array([[k % 2, 1.0] for k in range(300)]), lambda s: s[..., 0] / s[..., 1])
    whole = replicates(units, 50, seed=4)
    monkeypatch.setattr(stats, "MAX_CELLS", 300 * 7)  # 7 replicates per chunk
    assert np.array_equal(replicates(units, 50, seed=4), whole)


def test_every_installed_task_gets_an_interval():
    """Every installed task gets an interval: through its kit's medtuned_score_units (sentences for NER, documents
    for HoC), or by rescoring resamples of examples where a plugin offers no units."""
    from medtuned_core.plugins import get_registry
    from medtuned_core.render import render_split

    registry = get_registry()
    rows, seen = [], []
    for task in registry.select():
        if not task.sample_data:
            continue
        rendered = list(render_split(registry, task, task.sample_data, task.splits[-1], limit=16))
        if len(rendered) < 4:
            continue
        seen.append(task.name)
        wrong = rendered[-1]["output"]  # another example's answer: wrong for most rows
        rows += [
            {"task": task.name, "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": r["output"] if k % 2 else wrong}
            for k, r in enumerate(rendered)
        ]
    assert {"ncbi-disease", "gad", "hoc", "medqa"} <= set(seen)
    for name, result in score_rows(registry, rows, n_boot=40).items():
        assert result["ci_low"] <= result["score"] + 1e-9 and result["score"] <= result["ci_high"] + 1e-9, (name, result)
        expected_unit = {"ner": "sentence", "cls": "document"}.get(registry.get(name).family, "example")
        assert (result["n_boot"], result["ci_unit"]) == (40, expected_unit), (name, result["ci_unit"])
