"""Every CLI input file and option at the edge: templates, score files, mix specs, --reference, --config,
predict --file, --limit; and the silent acceptances of the issue (unknown template keys, empty score input,
gold-as-prediction with nothing to find)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import TOY_SAMPLES, toy_module
from redteam.corruptions import unreadable
from redteam.harness import invoke, nothing_left, refused

from medtuned_core import hookimpl
from medtuned_core.errors import MedTunedError
from medtuned_core.plugins import make_registry

TEMPLATES = {"toy-yesno": ["Say yes or no."]}
NOT_UTF8 = b'{"toy-yesno": ["Say yes\xff or no."]}\n'


def toy():
    return make_registry([toy_module()], autoload=False)


def bad_files(tmp_path: Path, good: bytes) -> dict[str, Path]:
    """One file per way an input file goes wrong (a good one for comparison)."""
    files = {
        "not-utf8": b'{"a": 1,\n"b": "x\xff"}\n',
        "binary": b"\x00\x01\x02PK\x03\x04" * 50,
        "empty": b"",
        "truncated": good[: len(good) // 2],
    }
    out = {}
    for name, data in files.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        out[name] = path
    folder = tmp_path / "folder.json"
    folder.mkdir()
    out["folder"] = folder
    return out


def render_args(tmp_path: Path, *extra: object) -> list[object]:
    return ["render", "toy-yesno", "--data-dir", TOY_SAMPLES, "--split", "test", "--out", tmp_path / "out" / "rows.jsonl", *extra]


# -- --templates --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["not-utf8", "binary", "empty", "truncated", "folder", "unreadable"])
def test_a_bad_templates_file_is_one_line_naming_it(case, tmp_path, monkeypatch):
    good = json.dumps(TEMPLATES).encode()
    files = bad_files(tmp_path, good)
    if case == "unreadable":
        path = tmp_path / "templates.json"
        path.write_bytes(good)
        with unreadable(path):
            result = invoke(*render_args(tmp_path, "--templates", path), registry=toy(), monkeypatch=monkeypatch)
    else:
        path = files[case]
        result = invoke(*render_args(tmp_path, "--templates", path), registry=toy(), monkeypatch=monkeypatch)
    refused(result, path.name)
    nothing_left(tmp_path / "out")


def test_templates_not_utf8_names_the_line(tmp_path, monkeypatch):
    path = tmp_path / "t.json"
    path.write_bytes(b'{\n"toy-yesno": [\n"Say yes\xff or no."]}\n')
    refused(invoke(*render_args(tmp_path, "--templates", path), registry=toy(), monkeypatch=monkeypatch), f"{path.name}:3", "UTF-8")


def test_unknown_template_keys_are_listed_with_a_did_you_mean(tmp_path, monkeypatch):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"toy-yesno": ["A."], "toy-yesnoo": ["B."], "zzz": ["C."]}), encoding="utf-8")
    message = refused(invoke(*render_args(tmp_path, "--templates", path), registry=toy(), monkeypatch=monkeypatch), path.name)
    assert "'toy-yesnoo' (did you mean 'toy-yesno'?)" in message and "'zzz'" in message
    nothing_left(tmp_path / "out")


def test_a_templates_file_for_no_task_of_the_run_is_refused_not_recorded(tmp_path, monkeypatch):
    """build: a file whose keys are all installed tasks but none of the mix's would change nothing."""
    from medtuned_core.build import build_mix, parse_spec

    ner_only = tmp_path / "t.json"
    ner_only.write_text(json.dumps({"other-task": ["X."]}), encoding="utf-8")
    reg = make_registry([toy_module(), _Other()], autoload=False)
    spec = parse_spec({"entries": [{"task": "toy-yesno"}]}, "mix", "mix", "0" * 64)
    with pytest.raises(MedTunedError, match="none of the tasks of this run"):
        build_mix(spec, TOY_SAMPLES, tmp_path / "b", registry=reg, templates=ner_only, write_dataset=False)
    assert not (tmp_path / "b").exists()
    both = tmp_path / "both.json"
    both.write_text(json.dumps({"other-task": ["X."], "toy-yesno": ["Y."]}), encoding="utf-8")
    result = build_mix(spec, TOY_SAMPLES, tmp_path / "b", registry=reg, templates=both, write_dataset=False)
    assert result.manifest["templates"]["tasks"] == ["toy-yesno"]  # what the file changed, not what it holds


class _Other:
    """A second installed task, so that a templates key can be known but unused."""

    def __init__(self):
        from dataclasses import replace

        self.task = replace(toy_module().TASK, name="other-task")

    @hookimpl
    def medtuned_register_tasks(self):
        return [self.task]

    medtuned_load_corpus = staticmethod(hookimpl(lambda task, data_dir, split, options: None))
    medtuned_render_instruction = staticmethod(hookimpl(lambda task, example, instruction: None))
    medtuned_parse_output = staticmethod(hookimpl(lambda task, text, input, reference: None))
    medtuned_score = staticmethod(hookimpl(lambda task, golds, preds, rows: None))


# -- medtuned score --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["not-utf8", "binary", "empty", "truncated", "unreadable"])
def test_a_bad_score_file_is_one_line_naming_it(case, tmp_path, monkeypatch):
    good = json.dumps({"task": "toy-yesno", "reference": "yes", "prediction": "yes"}).encode() + b"\n"
    path = bad_files(tmp_path, good)[case] if case != "unreadable" else tmp_path / "rows.jsonl"
    if case == "unreadable":
        path.write_bytes(good)
        with unreadable(path):
            result = invoke("score", path, "--json", registry=toy(), monkeypatch=monkeypatch)
    else:
        result = invoke("score", path, "--json", registry=toy(), monkeypatch=monkeypatch)
    message = refused(result, path.name)
    assert result.stdout.strip() == "" or case == "truncated"  # no figures (a truncated JSONL line is its own error)
    if case == "empty":
        assert "no rows to score" in message


def test_score_of_a_folder_is_one_line(tmp_path, monkeypatch):
    refused(invoke("score", tmp_path, registry=toy(), monkeypatch=monkeypatch), tmp_path.name)


# -- mix specs, --reference, --config, predict --file ----------------------------------------------------------


@pytest.mark.parametrize("case", ["not-utf8", "binary", "empty", "folder", "unreadable"])
def test_a_bad_mix_spec_is_one_line_naming_it(case, tmp_path, monkeypatch):
    spec = tmp_path / f"{case}.toml"
    if case == "folder":
        spec.mkdir()
    else:
        spec.write_bytes({"not-utf8": b'[[entries]]\ntask = "toy\xff"\n', "binary": b"\x00" * 64, "empty": b"", "unreadable": b"[[entries]]\n"}[case])
    args = ["build", "--mix", spec, "--data-dir", TOY_SAMPLES, "--out", tmp_path / "out", "--quiet"]
    if case == "unreadable":
        with unreadable(spec):
            result = invoke(*args, registry=toy(), monkeypatch=monkeypatch)
    else:
        result = invoke(*args, registry=toy(), monkeypatch=monkeypatch)
    refused(result, spec.name)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["not-utf8", "binary", "empty", "truncated", "folder"])
def test_a_bad_reference_file_is_one_line_naming_it(case, tmp_path, monkeypatch):
    good = json.dumps({"columns": ["X"], "tasks": {}}).encode()
    path = bad_files(tmp_path, good)[case]
    out = tmp_path / "eval"
    args = ["evaluate", "--model", tmp_path / "m", "--tasks", "toy-yesno", "--data-dir", TOY_SAMPLES, "--out", out, "--reference", path]
    refused(invoke(*args, registry=toy(), monkeypatch=monkeypatch), path.name)
    assert not out.exists()


@pytest.mark.parametrize("case", ["not-utf8", "binary", "folder"])
def test_a_bad_train_config_file_is_one_line_naming_it(case, tmp_path, monkeypatch):
    path = bad_files(tmp_path, b"{}")[case]
    result = invoke("train", "--config", path, "--model", "m", "--data", tmp_path, "--out", tmp_path / "run")
    refused(result, path.name)
    assert not (tmp_path / "run").exists()


def test_a_predict_file_that_is_not_utf8_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "inputs.txt"
    path.write_bytes(b"fine line\nbad \xff line\n")
    refused(invoke("predict", "--model", tmp_path / "m", "--task", "toy-yesno", "--file", path, registry=toy(), monkeypatch=monkeypatch), f"{path.name}:2")


# -- --limit ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["-1", "0"])
@pytest.mark.parametrize("command", ["render", "evaluate"])
def test_limit_below_one_is_refused(command, limit, tmp_path, monkeypatch):
    if command == "render":
        args = render_args(tmp_path, "--limit", limit)
    else:
        args = ["evaluate", "--model", tmp_path / "m", "--tasks", "toy-yesno", "--data-dir", TOY_SAMPLES, "--out", tmp_path / "out", "--limit", limit]
    result = invoke(*args, registry=toy(), monkeypatch=monkeypatch)
    assert result.exit_code == 2 and "--limit" in result.output and f"{limit} is not in the range x>=1" in result.output
    nothing_left(tmp_path / "out")


def test_limit_below_one_is_refused_by_the_python_api_too(tmp_path):
    from medtuned_core.render import render_split, sample_rows

    reg = toy()
    with pytest.raises(MedTunedError, match="at least 1"):
        list(render_split(reg, reg.get("toy-yesno"), TOY_SAMPLES, "test", limit=0))
    with pytest.raises(MedTunedError, match="at least 1"):
        sample_rows([{"id": "1"}], -1, 0, "t", "test")


# -- gold-as-prediction with nothing to find -------------------------------------------------------------------


def test_gold_as_prediction_on_a_set_with_no_entities_scores_1(tmp_path, monkeypatch):
    """docs/plugins.md: gold-as-prediction scores exactly 1.0, including splits with nothing to find."""
    reg = make_registry()
    task = reg.get("ncbi-disease")
    from medtuned_core.render import render_split

    rows = []
    for r in render_split(reg, task, task.sample_data, "test"):
        tokens = r["input"].split()
        reference = "\n".join(f"{t} : O" for t in tokens)
        rows.append({"task": "ncbi-disease", "id": r["id"], "input": r["input"], "reference": reference, "prediction": reference})
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke("score", path, "--json", registry=reg, monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ncbi-disease"]["score"] == 1.0
