"""The CLI contract: JSON shapes, one-line errors with exit codes, render and score."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from plugin_helpers import TOY_SAMPLES, toy_module

from medtuned_core import cli as cli_module
from medtuned_core.plugins import make_registry


@pytest.fixture
def run(monkeypatch):
    reg = make_registry([toy_module()], autoload=False)
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli_module.cli, list(args), catch_exceptions=False)

    return invoke


def test_list_tasks_json_contract(run):
    out = run("list-tasks", "--json")
    assert out.exit_code == 0
    (task,) = json.loads(out.output)
    assert {"name", "family", "package", "version", "metric", "splits", "description"} <= set(task)
    assert task["splits"] == ["train", "test"]
    assert json.loads(run("list-tasks", "--json", "--family", "ner").output) == []


def test_list_tasks_table(run):
    out = run("list-tasks")
    assert out.exit_code == 0 and "toy-yesno" in out.output


def test_describe_shows_metadata_and_a_rendered_example(run):
    data = json.loads(run("describe", "toy-yesno", "--json").output)
    assert data["name"] == "toy-yesno" and data["example"]["output"] == "yes"
    assert "### Instruction:" in run("describe", "toy-yesno").output


def test_unknown_task_is_one_line_with_suggestion(run):
    out = run("describe", "toy-yesn")
    assert out.exit_code == 1
    assert out.output.strip().splitlines() == ["Error: unknown task 'toy-yesn'. Did you mean: toy-yesno? (`medtuned list-tasks` shows all)"]


def test_debug_shows_the_traceback(run):
    with pytest.raises(Exception, match="unknown task"):
        run("--debug", "describe", "toy-yesn")


def test_plugins_json(run):
    (plugin,) = json.loads(run("plugins", "--json").output)
    assert plugin["status"] == "ok" and "medtuned_score" in plugin["hooks"]


def test_render_writes_alpaca_jsonl(run, tmp_path):
    out_file = tmp_path / "out.jsonl"
    out = run("render", "toy-yesno", "--data-dir", str(TOY_SAMPLES), "--split", "train", "--out", str(out_file), "--limit", "3", "--seed", "1")
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(rows) == 3
    assert list(rows[0]) == ["instruction", "input", "output", "task", "template_id", "id", "messages"]
    assert rows[0]["messages"] == [
        {"role": "user", "content": rows[0]["instruction"] + "\n\n" + rows[0]["input"]},
        {"role": "assistant", "content": rows[0]["output"]},
    ]


def test_render_missing_folder_and_missing_data_dir(run, tmp_path, monkeypatch):
    out = run("render", "toy-yesno", "--data-dir", str(tmp_path), "--split", "train", "--out", str(tmp_path / "o.jsonl"))
    assert out.exit_code == 1 and f"data not found at {tmp_path / 'Toy'}" in out.output
    monkeypatch.delenv("MEDTUNED_DATA_DIR", raising=False)
    out = run("render", "toy-yesno", "--split", "train", "--out", str(tmp_path / "o.jsonl"))
    assert out.exit_code == 1 and "--data-dir" in out.output


def test_data_dir_from_environment(run, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDTUNED_DATA_DIR", str(TOY_SAMPLES))
    out = run("render", "toy-yesno", "--split", "test", "--out", str(tmp_path / "o.jsonl"))
    assert out.exit_code == 0 and len((tmp_path / "o.jsonl").read_text().splitlines()) == 2


def test_score_json_and_bad_line(run, tmp_path):
    path = tmp_path / "preds.jsonl"
    rows = [
        {"task": "toy-yesno", "reference": "yes", "prediction": "Yes, it is."},
        {"task": "toy-yesno", "reference": "no", "prediction": "no"},
        {"task": "toy-yesno", "reference": "no", "prediction": "unsure"},
        {"task": "toy-yesno", "reference": "yes", "prediction": "no"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = json.loads(run("score", str(path), "--json").output)
    interval = {"ci_low": 0.0, "ci_high": 1.0, "n_boot": 1000, "ci_level": 0.95, "ci_unit": "example"}  # 4 rows: anything goes
    assert result == {"toy-yesno": {"metric": "accuracy", "score": 0.5, "n": 4, "unparsed": 1, "gold_unparsed": 0, **interval}}
    assert json.loads(run("score", str(path), "--json", "--n-boot", "0").output)["toy-yesno"].keys() == {"metric", "score", "n", "unparsed", "gold_unparsed"}
    table = run("score", str(path), "--ci", "0.9").output
    assert "90% CI" in table and "[0.0000, 1.0000]" in table
    assert run("score", str(path), "--ci", "90").exit_code == 1
    path.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"task": "toy-yesno", "reference": "yes"}) + "\n")
    out = run("score", str(path))
    assert out.exit_code == 1 and "preds.jsonl:2: field 'prediction' must be a string" in out.output


def test_render_task_option_parsing():
    assert cli_module.parse_options(("fold=3", "name=x", 'sources=["a"]')) == {"fold": 3, "name": "x", "sources": ["a"]}
