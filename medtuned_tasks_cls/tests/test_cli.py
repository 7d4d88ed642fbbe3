"""End to end through the installed entry point and the ``medtuned`` CLI: render, then score with ids."""

from __future__ import annotations

import json

import pytest

from medtuned_core.jsonl import read_jsonl, write_jsonl
from medtuned_core.testing import plugin_cli
from medtuned_tasks_cls.tasks import SAMPLES


@pytest.fixture
def run(monkeypatch):
    return plugin_cli(monkeypatch, "medtuned-tasks-cls")


def test_entry_point_registers_hoc(run):
    tasks = {t["name"]: t for t in json.loads(run("list-tasks", "--json").output)}
    assert set(tasks) == {"hoc"} and tasks["hoc"]["family"] == "cls" and tasks["hoc"]["metric"] == "document_f1"


def test_render_then_score_by_document(run, tmp_path):
    out = tmp_path / "hoc.jsonl"
    run("render", "hoc", "--data-dir", str(SAMPLES), "--split", "test", "--out", str(out))
    rows = [r for _, r in read_jsonl(out)]
    assert len(rows) == 72 and all("_" in r["id"] for r in rows)
    # Everyone answers None: right on None sentences and hallmark-free abstracts only.
    preds = [{"task": "hoc", "id": r["id"], "reference": r["output"], "prediction": "None"} for r in rows]
    write_jsonl(tmp_path / "preds.jsonl", preds)
    scored = json.loads(run("score", str(tmp_path / "preds.jsonl"), "--json").output)["hoc"]
    documents = {r["id"].rsplit("_", 1)[0] for r in rows}
    assert scored["n"] == 72 and scored["unparsed"] == 0 and scored["documents"] == len(documents)
    assert scored["sentence_micro_f1"] == 0.0 and scored["document_micro_f1"] == 0.0
    assert scored["score"] < 0.5
