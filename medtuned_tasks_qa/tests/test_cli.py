"""End to end through the installed entry point and the `medtuned` CLI: list, render with options, score."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from medtuned_core.jsonl import read_jsonl, write_jsonl
from medtuned_core.testing import plugin_cli
from medtuned_tasks_qa.tasks import PMC_LLAMA_SOURCES, SAMPLES


@pytest.fixture
def run(monkeypatch):
    return plugin_cli(monkeypatch, "medtuned-tasks-qa")


def test_entry_point_registers_the_four_tasks(run):
    tasks = {t["name"]: t for t in json.loads(run("list-tasks", "--json").output)}
    assert set(tasks) == {"chatdoctor", "pmc-llama", "medqa", "pubmedqa"}
    assert {t["family"] for t in tasks.values()} == {"qa"}
    assert tasks["pmc-llama"]["sources"] == list(PMC_LLAMA_SOURCES)
    assert tasks["pubmedqa"]["metric"] == "accuracy" and tasks["chatdoctor"]["metric"] == "rougeL_f1"


def test_render_pmc_llama_with_a_source_filter(run, tmp_path):
    out = tmp_path / "pmc.jsonl"
    run("render", "pmc-llama", "--data-dir", str(SAMPLES), "--split", "train", "--out", str(out), "--option", "sources=umls,liveqa")
    rendered = [r for _, r in read_jsonl(out)]
    assert Counter(r["id"].rsplit("-", 1)[0] for r in rendered) == {"liveqa": 10, "umls": 10}
    result = run("render", "pmc-llama", "--data-dir", str(SAMPLES), "--split", "train", "--out", str(out), "--option", "sources=umls,nope", ok=False)
    assert "unknown PMC-LLaMA source(s) nope" in result.output and "Traceback" not in result.output


def test_render_then_score_medqa(run, tmp_path):
    out = tmp_path / "medqa.jsonl"
    run("render", "medqa", "--data-dir", str(SAMPLES), "--split", "test", "--out", str(out))
    rendered = [r for _, r in read_jsonl(out)]
    assert len(rendered) == 32 and "choices" not in rendered[0]  # decoding hints stay out of training files
    # Half answer in PMC-LLaMA's style, correctly; the rest always say A.
    preds = []
    for i, r in enumerate(rendered):
        answer = f"OPTION {r['output'][0]} IS CORRECT." if i % 2 == 0 else "The answer is (A)."
        preds.append({"task": "medqa", "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": answer})
    write_jsonl(tmp_path / "preds.jsonl", preds)
    scored = json.loads(run("score", str(tmp_path / "preds.jsonl"), "--json").output)["medqa"]
    expected = (16 + sum(r["output"].startswith("A.") for r in rendered[1::2])) / 32
    assert scored["score"] == pytest.approx(expected) and scored["unparsed"] == 0


def test_a_broken_corpus_is_one_clear_line(run, tmp_path):
    folder = tmp_path / "MedQA-USMLE-4options"
    folder.mkdir()
    (folder / "test.jsonl").write_text('{"question": "Q", "options": {"A": "x", "B": "y"}}\n')
    result = run("render", "medqa", "--data-dir", str(tmp_path), "--split", "test", "--out", str(tmp_path / "o.jsonl"), ok=False)
    assert "test.jsonl:1: missing field 'answer_idx'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.jsonl").exists()
