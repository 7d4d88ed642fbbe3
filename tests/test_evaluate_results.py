"""What an evaluation writes: the resumable predictions store, results.md in the study's table layout with
published reference columns, the PNG chart, and errors that name the file and line."""

from __future__ import annotations

import json

import pytest

from medtuned_core.errors import CorpusFormatError, MedTunedError
from medtuned_core.evaluate import results

METRICS = {
    "run": {"model": "runs/demo/model", "model_label": "demo-135m", "split": "test", "mode": "score", "backend": "hf", "limit": 200},
    "tasks": {
        "ncbi-disease": {"metric": "f1", "score": 0.8125, "n": 200, "unparsed": 0, "gold_unparsed": 0, "examples_per_s": 3.5, "methods": {"tag": 200}},
        "gad": {"metric": "f1", "score": 0.5, "n": 10, "unparsed": 1, "gold_unparsed": 0, "examples_per_s": None, "methods": {"rank": 10}},
    },
}
FAMILIES = {"ncbi-disease": "ner", "gad": "re"}


def test_store_appends_complete_lines_and_cuts_a_torn_one(tmp_path):
    path = tmp_path / "predictions.jsonl"
    store = results.PredictionStore(path).open()
    store.append([{"task": "t", "id": "1", "prediction": "a"}, {"task": "t", "id": "2", "prediction": "b"}])
    with path.open("ab") as fh:
        fh.write(b'{"task": "t", "id": "3", "pre')
    again = results.PredictionStore(path).open()
    assert set(again.rows) == {("t", "1"), ("t", "2")} and again.repaired == len(b'{"task": "t", "id": "3", "pre')
    assert path.read_bytes().endswith(b"\n")


def test_store_reports_a_bad_complete_line_with_its_number(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_text('{"task": "t", "id": "1"}\nnot json\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"predictions.jsonl:2: invalid JSON"):
        results.PredictionStore(path).open()
    path.write_text('{"id": "1"}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r":1: expected a prediction row"):
        results.PredictionStore(path).open()


def test_results_markdown_has_the_study_layout_and_cited_reference_columns(tmp_path):
    reference = {
        "source": "Rohanian et al. 2024, Tables 2-3.",
        "columns": ["BioBERT", "Llama2-MedTuned-13b"],
        "tasks": {"ncbi-disease": {"study_name": "NCBI-Disease", "values": {"BioBERT": 89.5, "Llama2-MedTuned-13b": None}}},
    }
    text = results.results_markdown(METRICS, FAMILIES, reference)
    lines = text.splitlines()
    assert "## Named-entity recognition" in lines
    header = "| Task | Metric | demo-135m (ours) | BioBERT | Llama2-MedTuned-13b |"
    assert lines.count(header) == 2
    assert "| NCBI-Disease | f1 | 81.25 | 89.50 | — |" in lines
    assert "| gad | f1 | 50.00 | — | — |" in lines
    assert "| ncbi-disease | 200 | 0 | 0 | 3.50 | tag 200 |" in lines
    assert lines[-1] == "Reference columns: Rohanian et al. 2024, Tables 2-3."
    assert results.write_chart(tmp_path / "chart.png", METRICS, reference)
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_the_shipped_reference_file_covers_the_study_tasks_and_a_user_file_is_checked(tmp_path):
    shipped = results.load_reference()
    assert shipped["columns"] == ["BioBERT", "DistilBERT", "Llama2-MedTuned-7b", "Llama2-MedTuned-13b"]
    assert {"ncbi-disease", "bc5cdr-chem", "i2b2-2012", "gad", "mednli", "hoc"} <= set(shipped["tasks"])
    for entry in shipped["tasks"].values():
        assert set(entry["values"]) == set(shipped["columns"])
        assert all(v is None or 0 <= v <= 100 for v in entry["values"].values())
    bad = tmp_path / "ref.json"
    bad.write_text(json.dumps({"columns": "BioBERT"}), encoding="utf-8")
    with pytest.raises(CorpusFormatError):
        results.load_reference(bad)
    with pytest.raises(MedTunedError, match="not found"):
        results.load_reference(tmp_path / "missing.json")


def test_check_run_refuses_a_foreign_predictions_file_and_start_run_records_identity(tmp_path):
    identity = {k: None for k in results.RUN_IDENTITY} | {"model": "m", "mode": "score"}
    results.check_run(tmp_path, identity, overwrite=False)
    assert not (tmp_path / "run.json").exists()  # checking writes nothing: a run that fails before starting leaves no trace
    results.start_run(tmp_path, identity, overwrite=False)
    assert json.loads((tmp_path / "run.json").read_text())["model"] == "m"
    (tmp_path / "predictions.jsonl").write_text('{"task": "t", "id": "1"}\n', encoding="utf-8")
    results.check_run(tmp_path, identity, overwrite=False)  # same run: resume
    with pytest.raises(MedTunedError, match="model: 'm' -> 'other'"):
        results.check_run(tmp_path, identity | {"model": "other"}, overwrite=False)
    (tmp_path / "run.json").unlink()
    with pytest.raises(MedTunedError, match="without run.json"):
        results.check_run(tmp_path, identity, overwrite=False)
    results.check_run(tmp_path, identity, overwrite=True)
    results.start_run(tmp_path, identity, overwrite=True)
    assert not (tmp_path / "predictions.jsonl").exists()
