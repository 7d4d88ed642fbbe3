"""End to end through the installed entry point and the ``medtuned`` CLI (render, then score)."""

from __future__ import annotations

import json

import pytest

from medtuned_core.jsonl import read_jsonl, write_jsonl
from medtuned_core.testing import plugin_cli


@pytest.fixture
def run(monkeypatch):
    return plugin_cli(monkeypatch, "medtuned-tasks-re")


def test_entry_point_registers_both_tasks(run):
    tasks = {t["name"]: t for t in json.loads(run("list-tasks", "--json").output)}
    assert set(tasks) == {"gad", "i2b2-2010"}
    assert tasks["gad"]["package"] == "medtuned-tasks-re" and tasks["gad"]["options"] == {"fold": 1}
    assert tasks["i2b2-2010"]["access"] == "credentialed"


def test_render_a_fold_then_score_predictions(run, samples, tmp_path):
    out = tmp_path / "gad.jsonl"
    run("render", "gad", "--data-dir", str(samples), "--split", "test", "--option", "fold=2", "--out", str(out))
    rows = [r for _, r in read_jsonl(out)]
    lines = (samples / "GAD" / "2" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert [r["input"] for r in rows] == [line.split("\t")[1] for line in lines]
    assert [r["output"] for r in rows] == [{"1": "Positive", "0": "Negative"}[line.split("\t")[2]] for line in lines]
    # Predictions: right on the first half, unparsable on the rest.
    half = len(rows) // 2
    preds = [{"task": "gad", "reference": r["output"], "prediction": r["output"] if i < half else "cannot say"} for i, r in enumerate(rows)]
    write_jsonl(tmp_path / "preds.jsonl", preds)
    scored = json.loads(run("score", str(tmp_path / "preds.jsonl"), "--json").output)["gad"]
    assert scored["n"] == len(rows) and scored["unparsed"] == len(rows) - half
    assert scored["accuracy"] == pytest.approx(half / len(rows)) and scored["precision"] == 1.0 and scored["recall"] < 1.0


def test_bad_fold_is_one_clear_line(run, samples, tmp_path):
    args = ["render", "gad", "--data-dir", str(samples), "--split", "test", "--option", "fold=11", "--out", str(tmp_path / "x.jsonl")]
    result = run(*args, ok=False)
    assert "fold=11 must be one of 1..10" in result.output
    assert not (tmp_path / "x.jsonl").exists()
