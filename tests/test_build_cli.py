"""`medtuned build` on the command line: options, one-line errors, presets, the report on the terminal."""

from __future__ import annotations

import json

import pytest
from build_helpers import MiniPlugin, mini_registry, write_corpora, write_spec
from click.testing import CliRunner

from medtuned_core import cli as cli_module

MIX = """
seed = 1
[[entries]]
task = "mini-ner"
[[entries]]
task = "mini-qa"
take = 0.5
[[eval]]
task = "mini-ner"
split = "test"
"""


@pytest.fixture
def run(monkeypatch):
    reg = mini_registry()
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    runner = CliRunner()

    def invoke(*args: str, registry=None):
        if registry is not None:
            monkeypatch.setattr(cli_module, "registry", lambda: registry)
        return runner.invoke(cli_module.cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def data(tmp_path):
    return write_corpora(tmp_path / "data", shared_with_train=2)


def test_build_from_a_spec_file(run, tmp_path, data):
    spec = write_spec(tmp_path / "mix.toml", MIX)
    out = tmp_path / "out"
    result = run("build", "--mix", str(spec), "--data-dir", str(data), "--out", str(out), "--seed", "3", "--no-dataset")
    assert result.exit_code == 0, result.output
    assert "rendering mini-ner/train" in result.stderr  # progress bars
    assert "mini-qa" in result.stderr and "TOTAL" in result.stderr  # the composition table
    assert "wrote" in result.stderr and "leakage guard dropped 2 training rows" in result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["counts"]["train"] == {"mini-ner": 38, "mini-qa": 28}
    assert not (out / "dataset").exists()


def test_quiet_build_reads_data_dir_from_the_environment(run, tmp_path, data, monkeypatch):
    monkeypatch.setenv("MEDTUNED_DATA_DIR", str(data))
    spec = write_spec(tmp_path / "mix.json", json.dumps({"entries": [{"task": "mini-ner", "take": 5}]}))
    result = run("build", "--mix", str(spec), "--out", str(tmp_path / "out"), "-q", "--no-dataset")
    assert result.exit_code == 0, result.output
    assert "rendering" not in result.stderr and "wrote" in result.stderr
    assert len((tmp_path / "out" / "train.jsonl").read_text().splitlines()) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --mix SPEC or --preset NAME"),
        (["--preset", "paper", "--mix", "x.toml"], "give exactly one of"),
        (["--preset", "paper"], "--out is required"),
    ],
)
def test_usage_errors(run, args, message):
    result = run("build", *args)
    assert result.exit_code == 2 and message in result.output


def test_missing_sources_are_one_clean_error(run, tmp_path, data):
    spec = write_spec(tmp_path / "mix.toml", '[[entries]]\ntask = "mini-ner"\n[[entries]]\ntask = "mini-vault"\n')
    result = run("build", "--mix", str(spec), "--data-dir", str(data), "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 1
    assert "Error: 1 source(s) missing" in result.output and "mini-vault (train) [credentialed]" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    result = run("build", "--mix", str(spec), "--data-dir", str(data), "--out", str(tmp_path / "out"), "-q", "--allow-missing", "--no-dataset")
    assert result.exit_code == 0 and "built without 1 missing task(s): mini-vault" in result.stderr


def test_a_preset_whose_tasks_are_not_installed(run, tmp_path, data):
    result = run("build", "--preset", "paper", "--data-dir", str(data), "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 1
    assert "no installed plugin provides task 'ncbi-disease'" in result.output and "preset paper (paper.toml)" in result.output
    result = run("build", "--preset", "paper", "--data-dir", str(data), "--out", str(tmp_path / "out"), "-q", "--allow-missing")
    assert result.exit_code == 1 and "selected no training rows" in result.output


def test_spec_errors_and_failures_are_one_line(run, tmp_path, data):
    spec = write_spec(tmp_path / "mix.toml", '[[entries]]\ntask = "mini-ner"\ntake = -3\n')
    result = run("build", "--mix", str(spec), "--data-dir", str(data), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "mix.toml:1: entries[0] (mini-ner): `take`: a count must be >= 0" in result.output
    spec = write_spec(tmp_path / "mix.toml", MIX)
    result = run(
        "build",
        "--mix",
        str(spec),
        "--out",
        str(tmp_path / "out"),
        "--data-dir",
        str(data),
        "-q",
        registry=mini_registry(MiniPlugin(fail_after=3, interrupt=True)),
    )
    assert result.exit_code == 1 and "Aborted" in result.output  # Ctrl-C
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "mix.toml"]


def test_list_presets(run):
    result = run("build", "--list-presets")
    assert result.exit_code == 0
    assert "paper: Llama2-MedTuned mixture" in result.output and "paper-ablation:" in result.output


def test_build_is_listed_in_help(run):
    result = run("--help")
    assert "build" in result.output
