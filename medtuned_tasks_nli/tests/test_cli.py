"""End to end through the installed entry point and the ``medtuned`` CLI: render, score, missing data."""

from __future__ import annotations

import json

import pytest

from medtuned_core.jsonl import read_jsonl, write_jsonl
from medtuned_core.testing import plugin_cli
from medtuned_tasks_nli.tasks import SAMPLES


@pytest.fixture
def run(monkeypatch):
    return plugin_cli(monkeypatch, "medtuned-tasks-nli")


def test_entry_point_registers_mednli(run):
    tasks = {t["name"]: t for t in json.loads(run("list-tasks", "--json").output)}
    assert set(tasks) == {"mednli"}
    assert tasks["mednli"]["access"] == "credentialed" and tasks["mednli"]["family"] == "nli"


def test_render_then_score(run, tmp_path):
    out = tmp_path / "mednli.jsonl"
    run("render", "mednli", "--data-dir", str(SAMPLES), "--split", "validation", "--out", str(out))
    rows = [r for _, r in read_jsonl(out)]
    assert len(rows) == 60 and all(r["input"].startswith("Sentence 1: ") and "\nSentence 2: " in r["input"] for r in rows)
    preds = [{"task": "mednli", "reference": r["output"], "prediction": r["output"] if i % 3 else "no idea"} for i, r in enumerate(rows)]
    write_jsonl(tmp_path / "preds.jsonl", preds)
    scored = json.loads(run("score", str(tmp_path / "preds.jsonl"), "--json").output)["mednli"]
    assert scored["n"] == 60 and scored["unparsed"] == 20 and scored["score"] == pytest.approx(40 / 60)


def test_missing_data_says_how_to_obtain_it(run, tmp_path):
    result = run("render", "mednli", "--data-dir", str(tmp_path), "--split", "test", "--out", str(tmp_path / "x.jsonl"), ok=False)
    assert "physionet.org" in result.output and "MedNLI" in result.output
    assert not (tmp_path / "x.jsonl").exists()
