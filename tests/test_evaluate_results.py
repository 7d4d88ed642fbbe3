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


NCBI_RUN = {
    "run": {"model": "runs/demo/model", "model_label": "demo-135m", "split": "test", "mode": "score", "backend": "hf", "limit": None},
    "tasks": {
        "ncbi-disease": {
            "metric": "entity_f1",
            "score": 0.5461,
            "n": 940,
            "unparsed": 0,
            "gold_unparsed": 0,
            "examples_per_s": 2.0,
            "methods": {"tag": 940},
            "ci_low": 0.5123,
            "ci_high": 0.5790,
            "n_boot": 1000,
            "ci_level": 0.95,
            "ci_unit": "sentence",
        },
    },
}


def test_results_md_of_an_ncbi_run_shows_its_interval_and_the_studys_published_figures(tmp_path):
    text = results.results_markdown(NCBI_RUN, {"ncbi-disease": "ner"}, results.load_reference())
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| Task |"))
    assert header.startswith("| Task | Metric | demo-135m (ours) | 95% CI | DistilBERT † | BioBERT-v1.1 † | Llama2-MedTuned-7b † | Llama2-MedTuned-13b † |")
    assert "GPT-3.5 zero-shot †" in header and "Claude-2 zero-shot †" in header
    assert "BioClinicalBERT" not in header  # Table 3 (clinical) has no NCBI figure
    row = next(line for line in lines if line.startswith("| NCBI-Disease |"))
    assert row.startswith("| NCBI-Disease | entity_f1 | 54.61 | [51.23, 57.90] | 86.38 | 88.62 | 87.18 | 85.69 |")
    assert "| 33.39 | 4.58 | 45.75 |" in row
    assert "| ncbi-disease | 940 | 0 | 0 | sentence | 1000 | 2.00 | tag 940 |" in lines
    footnote = next(line for line in lines if line.startswith("† "))
    assert "not re-run here" in footnote and "arXiv:2401.00579" in footnote and "Table 4" in footnote and "docs/ner.md" in footnote
    assert results.write_chart(tmp_path / "chart.png", NCBI_RUN, results.load_reference())
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"


def test_results_markdown_without_intervals_or_published_figures(tmp_path):
    text = results.results_markdown(METRICS, FAMILIES, results.References())
    lines = text.splitlines()
    assert lines.count("| Task | Metric | demo-135m (ours) | CI |") == 2
    assert "| ncbi-disease | f1 | 81.25 | — |" in lines and "| gad | f1 | 50.00 | — |" in lines
    assert "| ncbi-disease | 200 | 0 | 0 | — | 0 | 3.50 | tag 200 |" in lines
    assert "†" not in text
    assert results.write_chart(tmp_path / "chart.png", METRICS, results.References())


def test_the_shipped_reference_file_holds_the_studys_tables():
    shipped = results.load_reference()
    columns = {c.label: c for c in shipped.columns}
    assert columns["Llama2-MedTuned-7b"].values["ncbi-disease"] == 87.18 and columns["Llama2-MedTuned-13b"].values["ncbi-disease"] == 85.69
    assert columns["BioBERT-v1.1"].values["ncbi-disease"] == 88.62 and columns["Claude-2 zero-shot"].values["bc2gm"] == 40.45
    assert columns["Llama2-MedTuned-13b"].values["mednli"] == 89.46 and columns["Llama2-MedTuned-13b"].tables == ["Table 2", "Table 3", "Table 1"]
    assert set(columns["BioClinicalBERT"].values) == {"i2b2-2012", "i2b2-2010", "mednli"}
    assert all(0 <= v <= 100 for c in shipped.columns for v in c.values.values())
    assert shipped.study_name("ncbi-disease") == "NCBI-Disease" and shipped.study_name("unknown") == "unknown"


def test_a_users_reference_file_adds_columns_and_is_checked(tmp_path):
    mine = tmp_path / "ref.json"
    table = {"name": "Run 7", "columns": ["Our BioBERT rerun"], "rows": {"ncbi-disease": [87.9], "gad": [None]}}
    mine.write_text(json.dumps({"citation": "Lab notes", "tables": [table]}), encoding="utf-8")
    refs = results.load_reference(mine)
    shown = [c.label for c in refs.shown(["ncbi-disease"])]
    assert shown[0] == "DistilBERT" and shown[-1] == "Our BioBERT rerun"
    assert refs.header(refs.columns[-1]) == "Our BioBERT rerun ‡"
    assert refs.footnotes(["gad"]) == []  # no figure for GAD anywhere
    bad = {
        "not-tables": {"columns": "BioBERT"},
        "short-row": {"tables": [{"name": "T", "columns": ["A", "B"], "rows": {"gad": [1.0]}}]},
        "taken": {"tables": [{"name": "T", "columns": ["BioBERT-v1.1"], "rows": {"gad": [1.0]}}]},
        "conflict": {"tables": [{"name": "T1", "columns": ["A"], "rows": {"gad": [1.0]}}, {"name": "T2", "columns": ["A"], "rows": {"gad": [2.0]}}]},
    }
    messages = {
        "not-tables": "expected",
        "short-row": "must hold 2 numbers",
        "taken": "already given by reference_results.json",
        "conflict": "T2: column 'A' gives gad 2.0, T1 gives 1.0",
    }
    for name, data in bad.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(CorpusFormatError, match=messages[name]):
            results.load_reference(path)
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
