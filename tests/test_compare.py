"""``medtuned compare``: a leaderboard of evaluation runs with intervals, paired tests on the same examples,
refusal (naming the task) for runs on different examples, notes on different settings."""

from __future__ import annotations

import json
import random
from pathlib import Path

import evaluate_helpers as helpers
import pytest

from medtuned_core.errors import MedTunedError
from medtuned_core.evaluate import evaluate
from medtuned_core.evaluate.compare import compare, compare_runs
from medtuned_core.render import sample_rows
from medtuned_core.scoring import read_score_rows, score_rows

TASK = "toy-yesno"


def questions(n: int = 200, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"task": TASK, "id": f"q{k}", "input": f"question {k}?", "reference": rng.choice(["yes", "no"])} for k in range(n)]


def answers(rows: list[dict], accuracy: float, seed: int) -> dict[str, str]:
    """A model's answer to each question id: right on a seeded share of them."""
    rng = random.Random(seed)
    flip = {"yes": "no", "no": "yes"}
    return {r["id"]: r["reference"] if rng.random() < accuracy else flip[r["reference"]] for r in rows}


def write_run(folder: Path, rows: list[dict], predicted: dict[str, str], **settings) -> Path:
    """A folder as `medtuned evaluate` leaves it: predictions.jsonl, run.json (and metrics.json when given)."""
    folder.mkdir(parents=True)
    lines = [json.dumps({**r, "prediction": predicted[r["id"]]}) + "\n" for r in rows]
    (folder / "predictions.jsonl").write_text("".join(lines), encoding="utf-8")
    metrics = settings.pop("metrics", None)
    run = {"model": "toy-model", "mode": "score", "split": "test", "seed": 0, "limit": None, "tasks": [TASK], **settings}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    if metrics is not None:
        (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


@pytest.fixture
def cli(monkeypatch):
    return helpers.cli_runner(monkeypatch)


def test_runs_on_different_seeds_limit_samples_are_refused_naming_the_task(tmp_path, cli):
    rows = questions()
    model = answers(rows, 0.7, seed=1)  # one model: the same answer to a question in every run
    a = write_run(tmp_path / "seed0", sample_rows(rows, 50, 0, TASK, "test"), model, limit=50, seed=0)
    b = write_run(tmp_path / "seed1", sample_rows(rows, 50, 1, TASK, "test"), model, limit=50, seed=1)
    with pytest.raises(MedTunedError, match=r"^toy-yesno: cannot pair seed0 with seed1: they scored different examples \(50 and 50, \d+ in common"):
        compare_runs([a, b], registry=helpers.registry(), n_boot=50)
    res = cli("compare", a, b, "--out", tmp_path / "out")
    assert res.exit_code == 1 and res.output.count("\n") == 1 and res.output.startswith("Error: toy-yesno: cannot pair seed0 with seed1")
    res = cli("compare", a, b, "--out", tmp_path / "out", "--skip-unpairable", "--n-boot", "50")
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert report["pairs"] == [] and any(n.startswith("toy-yesno: seed0 and seed1 not paired") for n in report["notes"])


def test_same_examples_a_model_against_itself_and_a_real_difference(tmp_path):
    rows = questions()
    model = answers(rows, 0.6, seed=1)
    again = dict(model)
    for qid in random.Random(2).sample(sorted(again), 4):  # a rerun that changed a handful of answers
        again[qid] = "yes" if again[qid] == "no" else "no"
    better = {qid: (r["reference"] if k % 3 == 0 else model[qid]) for k, (qid, r) in enumerate((r["id"], r) for r in rows)}
    runs = [write_run(tmp_path / name, rows, p) for name, p in (("base", model), ("rerun", again), ("tuned", better))]
    report = compare_runs(runs, registry=helpers.registry())
    pairs = {(p["a"], p["b"]): p for p in report["pairs"]}
    assert set(pairs) == {("base", "rerun"), ("base", "tuned"), ("rerun", "tuned")}
    same = pairs["base", "rerun"]
    assert same["diff"] != 0 and same["p_bootstrap"] > 0.05 and same["mcnemar"]["p"] > 0.05 and same["ci_low"] <= 0 <= same["ci_high"], same
    real = pairs["base", "tuned"]
    assert real["diff"] > 0.1 and real["p_bootstrap"] < 0.01 and real["mcnemar"]["p"] < 0.01 and real["ci_low"] > 0
    assert real["mcnemar"]["only_a"] == 0 and real["mcnemar"]["only_b"] > 0
    alone = compare_runs([runs[0], runs[0]], registry=helpers.registry(), n_boot=200)["pairs"][0]
    assert (alone["diff"], alone["p_bootstrap"], alone["mcnemar"]["p"]) == (0.0, 1.0, 1.0)


def test_compare_recomputes_what_evaluate_and_medtuned_score_report(tmp_path):
    """Two real evaluate runs (two tiny models, same seeded sample): the leaderboard's scores and intervals
    are metrics.json's, and medtuned score's on predictions.jsonl."""
    data = helpers.write_data(tmp_path / "data", sentences=helpers.SENTENCES * 3)
    registry = helpers.registry()
    outs = []
    for seed in (0, 1):
        out = tmp_path / f"model{seed}"
        evaluate((helpers.model(seed=seed), helpers.tokenizer()), ["toy-tagger", TASK], data, "test", out, "score", 10, registry=registry, progress=False)
        outs.append(out)
    report = compare(outs, tmp_path / "cmp", registry=registry)
    for out in outs:
        metrics = json.loads((out / "metrics.json").read_text())["tasks"]
        rescored = score_rows(registry, read_score_rows(out / "predictions.jsonl"), n_boot=1000)
        for task in ("toy-tagger", TASK):
            shown = report["tasks"][task]["runs"][out.name]
            for key in ("score", "ci_low", "ci_high", "n"):
                assert shown[key] == metrics[task][key] == rescored[task][key], (task, key)
    assert [(p["task"], p["n"]) for p in report["pairs"]] == [("toy-tagger", 10), (TASK, 2)]  # the toy yes/no test split has 2 rows
    assert "mcnemar" in report["pairs"][1] and "mcnemar" not in report["pairs"][0]  # McNemar only for accuracy
    text = (tmp_path / "cmp" / "compare.md").read_text()
    assert "## Leaderboard" in text and "| toy-tagger | f1 |" in text and "## Paired tests" in text
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_a_grown_then_shrunk_limit_scores_the_latest_sample(tmp_path):
    rows = questions(120)
    model = answers(rows, 0.5, seed=3)
    folder = write_run(tmp_path / "run", sample_rows(rows, 60, 0, TASK, "test"), model, limit=30)  # predictions of --limit 60, then a run with --limit 30
    report = compare_runs([folder], registry=helpers.registry(), n_boot=100)
    latest = sample_rows(rows, 30, 0, TASK, "test")
    expected = score_rows(helpers.registry(), [{**r, "prediction": model[r["id"]]} for r in latest])[TASK]["score"]
    assert report["tasks"][TASK]["runs"]["run"]["n"] == 30 and report["tasks"][TASK]["runs"]["run"]["score"] == expected


def test_notes_name_different_formats_templates_and_a_stale_metrics_file(tmp_path):
    rows = questions(40)
    model = answers(rows, 0.5, seed=4)
    a = write_run(tmp_path / "alpaca", rows, model, metrics={"run": {"model_label": "m"}, "tasks": {TASK: {"score": 0.123}}})
    b = write_run(tmp_path / "chat", rows, model, format="chat", templates_sha256="ab" * 32)
    notes = compare_runs([a, b], registry=helpers.registry(), n_boot=50)["notes"]
    assert "alpaca and chat used different prompt formats: alpaca vs chat" in notes
    assert any(n.startswith("alpaca and chat used different templates: null vs abab") for n in notes)
    assert any(n.startswith("toy-yesno: alpaca's metrics.json says 0.1230, its predictions score") for n in notes)


def test_cli_report_with_a_users_reference_column(tmp_path, cli):
    rows = questions(60)
    a = write_run(tmp_path / "a", rows, answers(rows, 0.5, seed=5))
    b = write_run(tmp_path / "b", rows, answers(rows, 0.8, seed=6))
    mine = tmp_path / "mine.json"
    table = {"name": "Table 9", "title": "our lab's baseline", "columns": ["Lab baseline"], "rows": {TASK: [61.5]}}
    mine.write_text(json.dumps({"citation": "Our lab notebook, 2025", "scored_by": "Scored with medtuned score.", "tables": [table]}), encoding="utf-8")
    res = cli("compare", a, b, "--out", tmp_path / "out", "--reference", mine, "--n-boot", "200", "--ci", "0.9")
    assert res.exit_code == 0, res.output
    assert "Leaderboard (90% intervals, percent)" in res.output and "Paired tests" in res.output
    text = (tmp_path / "out" / "compare.md").read_text()
    assert "| Task | Metric | a | b | Lab baseline ‡ |" in text and "| 61.50 |" in text
    assert "‡ Figures cited from Our lab notebook, 2025, not re-run here. Table 9 (our lab's baseline): Lab baseline." in text
    assert "BioBERT" not in text  # the study's columns have no figure for this task
    assert cli("compare", a, "--out", tmp_path / "x", "--ci", "95").exit_code != 0
    missing = cli("compare", tmp_path / "out", "--out", tmp_path / "y")
    assert missing.exit_code == 1 and "not an evaluation folder" in missing.output
