"""Hostile plugins: a distribution that claims a built-in task name, hooks that raise or answer garbage,
a task that reads outside the data root, a mistyped MEDTUNED_PLUGINS, and the plugins table at 80 columns."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from plugin_helpers import TOY_SAMPLES, toy_module
from redteam.harness import invoke, medtuned, refused

from medtuned_core import Parsed, hookimpl
from medtuned_core import plugins as plugins_module
from medtuned_core.plugins import ENV_PLUGINS, ENV_PROVIDERS, make_registry

INTRUDER = "aaa-intruder"  # sorts before every medtuned-* distribution, and reuses the NER entry-point name
INTRUDER_SOURCE = """
from medtuned_core import Parsed, TaskInfo, hookimpl

TASK = TaskInfo(name="ncbi-disease", family="ner", description="An intruder.", metric="f1", splits=("test",),
                data_folder="NCBI-disease", templates=("Tag it.",), citation="none", license="CC0-1.0")
CALLS = []


@hookimpl
def medtuned_register_tasks():
    return [TASK]


@hookimpl
def medtuned_load_corpus(task, data_dir, split, options):
    if task.name == TASK.name:
        CALLS.append("load")
        return iter([{"id": "x"}])


@hookimpl
def medtuned_render_instruction(task, example, instruction):
    if task.name == TASK.name:
        CALLS.append("render")
        return {"input": "x", "output": "x"}


@hookimpl
def medtuned_parse_output(task, text, input, reference):
    if task.name == TASK.name:
        CALLS.append("parse")
        return Parsed(text)


@hookimpl
def medtuned_score(task, golds, preds, rows):
    if task.name == TASK.name:
        CALLS.append("score")
        return {"metric": "f1", "score": 0.123}
"""


@pytest.fixture
def intruder(tmp_path, monkeypatch):
    """``aaa-intruder`` installed (a dist-info on sys.path, as pip leaves it) beside the real task packages."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "aaa_intruder.py").write_text(INTRUDER_SOURCE, encoding="utf-8")
    info = site / "aaa_intruder-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {INTRUDER}\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[medtuned.plugins]\nner = aaa_intruder\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv(ENV_PLUGINS, raising=False)
    monkeypatch.delenv(ENV_PROVIDERS, raising=False)
    monkeypatch.setattr(plugins_module, "_default", None)
    yield site
    import sys

    sys.modules.pop("aaa_intruder", None)


def fresh(monkeypatch, **env: str) -> None:
    """The next CLI call builds the registry from the entry points again, under ``env``."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(plugins_module, "_default", None)


def ncbi_and_bc2gm_rows(tmp_path: Path) -> Path:
    """Gold-as-prediction rows of two NER tasks, from the NER package's samples."""
    from medtuned_core.render import render_split

    reg = make_registry(providers={"ncbi-disease": "medtuned-tasks-ner"})
    rows = []
    for name in ("ncbi-disease", "bc2gm"):
        task = reg.get(name)
        for r in render_split(reg, task, task.sample_data, "test", limit=3):
            rows.append({"task": name, "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": r["output"]})
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def strict_json(text: str):
    def no_constants(name):
        raise AssertionError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=no_constants)


# -- a distribution claims a built-in task name --------------------------------------------------------


def test_a_collision_disables_only_that_name_and_every_other_task_of_both_stays(intruder, monkeypatch, tmp_path):
    listed = invoke("list-tasks", "--json")
    assert listed.exit_code == 0, listed.output
    names = {t["name"] for t in json.loads(listed.stdout)}
    assert {"bc2gm", "bc5cdr-chem", "bc5cdr-disease", "jnlpba", "i2b2-2012"} <= names  # the NER package is whole
    assert "ncbi-disease" not in names
    table = invoke("list-tasks")
    assert "ncbi-disease" in table.stdout and INTRUDER in table.stdout and "medtuned-tasks-ner" in table.stdout
    assert f"conflict: task 'ncbi-disease' is provided by both {INTRUDER} and medtuned-tasks-ner" in table.stderr
    statuses = {p["distribution"]: p for p in json.loads(invoke("plugins", "--json").stdout)}
    assert statuses["medtuned-tasks-ner"]["status"] == "ok" and statuses[INTRUDER]["status"] == "ok"
    assert statuses["medtuned-tasks-ner"]["conflicts"] == {"ncbi-disease": [INTRUDER]}
    assert statuses[INTRUDER]["conflicts"] == {"ncbi-disease": ["medtuned-tasks-ner"]}
    data = Path(make_registry().get("bc2gm").sample_data)
    assert invoke("render", "bc2gm", "--data-dir", data, "--split", "test", "--out", tmp_path / "ok.jsonl").exit_code == 0
    message = refused(invoke("render", "ncbi-disease", "--data-dir", data, "--split", "test", "--out", tmp_path / "no.jsonl"), INTRUDER, "medtuned-tasks-ner")
    assert f"{ENV_PROVIDERS}=ncbi-disease=" in message and not (tmp_path / "no.jsonl").exists()
    spec = tmp_path / "mix.toml"
    spec.write_text('[[entries]]\ntask = "ncbi-disease"\n', encoding="utf-8")
    refused(invoke("build", "--mix", spec, "--data-dir", data, "--out", tmp_path / "b", "-q"), INTRUDER, "medtuned-tasks-ner")
    assert not (tmp_path / "b").exists()


def test_score_of_a_collided_task_is_an_error_entry_and_the_others_are_scored(intruder, monkeypatch, tmp_path):
    rows = ncbi_and_bc2gm_rows(tmp_path)
    result = invoke("score", rows, "--json")
    assert result.exit_code == 1
    scores = strict_json(result.stdout)
    assert scores["bc2gm"]["score"] == 1.0
    assert scores["ncbi-disease"]["plugin"] == [INTRUDER, "medtuned-tasks-ner"] and "score" not in scores["ncbi-disease"]
    assert "ncbi-disease" in result.stderr and INTRUDER in result.stderr
    aaa = __import__("aaa_intruder")
    assert aaa.CALLS == []  # the intruder never answered for a name it does not own


@pytest.mark.parametrize(("chosen", "expected"), [("medtuned-tasks-ner", 1.0), (INTRUDER, 0.123)])
def test_medtuned_providers_chooses_whose_hooks_answer(intruder, monkeypatch, tmp_path, chosen, expected):
    rows = ncbi_and_bc2gm_rows(tmp_path)
    fresh(monkeypatch, **{ENV_PROVIDERS: f"ncbi-disease={chosen}"})
    result = invoke("score", rows, "--json")
    assert result.exit_code == 0, result.output
    scores = strict_json(result.stdout)
    assert scores["ncbi-disease"]["score"] == expected and scores["bc2gm"]["score"] == 1.0
    aaa = __import__("aaa_intruder")
    assert bool(aaa.CALLS) == (chosen == INTRUDER)  # the other provider's hooks are never called for the name
    statuses = {p["distribution"]: p for p in json.loads(invoke("plugins", "--json").stdout)}
    loser = INTRUDER if chosen != INTRUDER else "medtuned-tasks-ner"
    assert statuses[loser]["set_aside"] == {"ncbi-disease": chosen}


def test_a_collision_in_a_real_process(intruder):
    """As a user sees it: exit codes and stderr of separate processes."""
    env = {"PYTHONPATH": str(intruder), ENV_PLUGINS: "", ENV_PROVIDERS: ""}
    env.pop(ENV_PLUGINS)
    proc = medtuned("describe", "ncbi-disease", env={**env, ENV_PLUGINS: "medtuned-tasks-ner,aaa-intruder"})
    message = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"provided by both {INTRUDER} and medtuned-tasks-ner" in message
    ok = medtuned("describe", "bc2gm", "--json", env={**env, ENV_PLUGINS: "medtuned-tasks-ner,aaa-intruder"})
    assert ok.returncode == 0 and json.loads(ok.stdout)["name"] == "bc2gm"


# -- hooks that raise or answer outside the contract ------------------------------------------------------

HOSTILE = {
    "raising-parse": ("parse", "raise"),
    "parse-not-parsed": ("parse", "a string"),
    "parse-nan-value": ("parse", Parsed(float("nan"))),
    "raising-score": ("score", "raise"),
    "nan-score": ("score", {"metric": "f1", "score": float("nan")}),
    "inf-detail": ("score", {"metric": "f1", "score": 0.5, "support": float("inf")}),
    "out-of-range": ("score", {"metric": "f1", "score": 7.5}),
    "list-score": ("score", [0.5]),
    "no-score-key": ("score", {"metric": "f1", "f1": 0.5}),
    "string-score": ("score", {"score": "0.5"}),
    "bool-score": ("score", {"score": True}),
    "metric-only": ("score", {"metric": "f1"}),
    "set-detail": ("score", {"score": 0.5, "labels": {"a", "b"}}),
}


class Hostile:
    """One task per misbehaviour of HOSTILE; its other hooks behave."""

    def __init__(self) -> None:
        base = toy_module().TASK
        self.tasks = {name: replace(base, name=f"hostile-{name}", data_folder="Toy") for name in HOSTILE}

    def _mine(self, task):
        return next((k for k, t in self.tasks.items() if t.name == task.name), None)

    @hookimpl
    def medtuned_register_tasks(self):
        return list(self.tasks.values())

    @hookimpl
    def medtuned_load_corpus(self, task, data_dir, split, options):
        return None

    @hookimpl
    def medtuned_render_instruction(self, task, example, instruction):
        return None

    def _answer(self, task, hook: str, normal):
        """The misbehaviour of HOSTILE when this is its hook, else the normal answer (None: not our task)."""
        kind = self._mine(task)
        if kind is None:
            return None
        where, behaviour = HOSTILE[kind]
        if where != hook:
            return normal
        if behaviour == "raise":
            raise ZeroDivisionError(f"{hook} exploded")
        return behaviour

    @hookimpl
    def medtuned_parse_output(self, task, text, input, reference):
        return self._answer(task, "parse", Parsed(text.strip()))

    @hookimpl
    def medtuned_score(self, task, golds, preds, rows):
        return self._answer(task, "score", {"metric": "accuracy", "score": 1.0})


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_failing_hook_gives_an_error_entry_for_its_task_only(kind, tmp_path, monkeypatch):
    registry = make_registry([toy_module(), Hostile()], autoload=False)
    assert all(p.ok for p in registry.plugins), [p.error for p in registry.plugins]
    rows = [
        {"task": "toy-yesno", "reference": "yes", "prediction": "yes"},
        {"task": f"hostile-{kind}", "reference": "yes", "prediction": "no"},
        {"task": "toy-yesno", "reference": "no", "prediction": "no"},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke("score", path, "--json", registry=registry, monkeypatch=monkeypatch)
    scores = strict_json(result.stdout)  # valid JSON: never NaN or Infinity
    assert scores["toy-yesno"]["score"] == 1.0 and scores["toy-yesno"]["n"] == 2  # the other task is still scored
    entry = scores[f"hostile-{kind}"]
    assert set(entry) == {"error", "plugin", "n"} and entry["plugin"] == "Hostile-1" and entry["n"] == 1
    message = refused(result, f"hostile-{kind}", "Hostile-1")
    assert ("medtuned_parse_output" if HOSTILE[kind][0] == "parse" else "medtuned_score") in message
    table = invoke("score", path, registry=registry, monkeypatch=monkeypatch)  # the table view fails the same way
    assert table.exit_code == 1 and "toy-yesno" in table.stdout and "Traceback" not in table.output


def test_score_values_in_range_and_finite_pass_through():
    from medtuned_core.plugins import check_score_result

    assert check_score_result({"metric": "f1", "score": 0.0, "per_type": {"a": {"f1": 1.0, "support": 3}}}) is None
    assert check_score_result({"score": 1}) is None
    assert "outside 0..1" in check_score_result({"score": -0.01})
    assert "NaN" in check_score_result({"score": 0.5, "nested": [1.0, math.nan]})


class RaisingLoader:
    """A loader that fails half-way, and a render hook that answers a list."""

    @hookimpl
    def medtuned_register_tasks(self):
        base = toy_module().TASK
        return [replace(base, name="bad-loader"), replace(base, name="bad-render")]

    @hookimpl
    def medtuned_load_corpus(self, task, data_dir, split, options):
        if task.name == "bad-loader":
            return self._rows()
        if task.name == "bad-render":
            return iter([{"id": "1"}])
        return None

    def _rows(self):
        yield {"id": "1"}
        raise KeyError("column_that_moved")

    @hookimpl
    def medtuned_render_instruction(self, task, example, instruction):
        if task.name == "bad-loader":
            return {"input": "a", "output": "b"}
        if task.name == "bad-render":
            return ["input", "output"]
        return None

    @hookimpl
    def medtuned_parse_output(self, task, text, input, reference):
        return None

    @hookimpl
    def medtuned_score(self, task, golds, preds, rows):
        return None


@pytest.mark.parametrize(("task", "hook"), [("bad-loader", "medtuned_load_corpus"), ("bad-render", "medtuned_render_instruction")])
def test_a_failing_load_or_render_hook_is_one_line_naming_the_plugin(task, hook, tmp_path, monkeypatch):
    registry = make_registry([toy_module(), RaisingLoader()], autoload=False)
    out = tmp_path / "rows.jsonl"
    result = invoke("render", task, "--data-dir", TOY_SAMPLES, "--split", "test", "--out", out, registry=registry, monkeypatch=monkeypatch)
    refused(result, task, hook, "RaisingLoader-1")
    assert not out.exists() and list(tmp_path.iterdir()) == []


# -- a task that reads outside the data root ------------------------------------------------------------


class Escaper:
    def __init__(self, folder: str) -> None:
        self.folder = folder

    @hookimpl
    def medtuned_register_tasks(self):
        return [replace(toy_module().TASK, name="escaper", data_folder=self.folder)]

    medtuned_load_corpus = staticmethod(hookimpl(lambda task, data_dir, split, options: None))
    medtuned_render_instruction = staticmethod(hookimpl(lambda task, example, instruction: None))
    medtuned_parse_output = staticmethod(hookimpl(lambda task, text, input, reference: None))
    medtuned_score = staticmethod(hookimpl(lambda task, golds, preds, rows: None))


@pytest.mark.parametrize("folder", ["../../x", "/etc", "Toy/../../x", "C:\\data"])
def test_a_data_folder_outside_the_data_root_is_rejected(folder, tmp_path, monkeypatch):
    registry = make_registry([toy_module(), Escaper(folder)], autoload=False)
    status = registry.plugins[1]
    assert not status.ok and "data_folder" in status.error and list(registry.tasks) == ["toy-yesno"]
    listed = invoke("plugins", "--json", registry=registry, monkeypatch=monkeypatch)
    assert "data_folder" in json.loads(listed.stdout)[1]["error"]
    refused(invoke("render", "escaper", "--data-dir", tmp_path, "--split", "test", "--out", tmp_path / "o.jsonl", registry=registry, monkeypatch=monkeypatch))
    # and a TaskInfo forged after registration cannot escape either
    forged = replace(registry.get("toy-yesno"), data_folder=folder)
    with pytest.raises(plugins_module.PluginError, match="data_folder"):
        registry.task_dir(forged, tmp_path)


# -- configuration mistakes -------------------------------------------------------------------------------


def test_a_mistyped_name_in_medtuned_plugins_is_reported(monkeypatch):
    fresh(monkeypatch, **{ENV_PLUGINS: "medtuned-tasks-nre,medtuned-tasks-qa"})
    result = invoke("list-tasks", "--json")
    assert "warning: MEDTUNED_PLUGINS names 'medtuned-tasks-nre'" in result.stderr and "medtuned-tasks-ner?" in result.stderr
    assert {t["package"] for t in json.loads(result.stdout)} == {"medtuned-tasks-qa"}
    fresh(monkeypatch, **{ENV_PLUGINS: "medtuned-tasks-nre"})
    statuses = json.loads(invoke("plugins", "--json").stdout)
    assert [(p["distribution"], p["status"]) for p in statuses] == [("medtuned-tasks-nre", "error")]


def test_a_malformed_medtuned_providers_is_reported(monkeypatch):
    fresh(monkeypatch, **{ENV_PROVIDERS: "ncbi-disease", ENV_PLUGINS: "medtuned-tasks-qa"})
    result = invoke("list-tasks", "--json")
    assert result.exit_code == 0 and "warning: MEDTUNED_PROVIDERS: 'ncbi-disease' is not task=distribution" in result.stderr


def test_the_plugins_table_keeps_distribution_names_whole_at_80_columns(intruder, monkeypatch):
    long_name = "aaa-intruder"
    for command in ("plugins", "list-tasks"):
        result = invoke(command, env={"COLUMNS": "80"})
        assert result.exit_code == 0
        for name in ("medtuned-tasks-ner", "medtuned-tasks-cls", long_name):
            assert name in result.stdout, f"{command}: {name} cut at 80 columns"
        assert "…" not in result.stdout
        assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout


class ExplodingParser:
    """A task that loads and renders like the toy task, whose parse hook raises on model answers."""

    def __init__(self) -> None:
        self.task = replace(toy_module().TASK, name="exploding-parser")

    @hookimpl
    def medtuned_register_tasks(self):
        return [self.task]

    @hookimpl
    def medtuned_load_corpus(self, task, data_dir, split, options):
        if task.name == self.task.name:
            return toy_module()._read(Path(data_dir) / task.data_folder / f"{split}.tsv")

    @hookimpl
    def medtuned_render_instruction(self, task, example, instruction):
        if task.name == self.task.name:
            return {"input": example["question"], "output": example["label"]}

    @hookimpl
    def medtuned_parse_output(self, task, text, input, reference):
        if task.name == self.task.name:
            if reference is not None:
                raise RuntimeError("cannot read model answers")
            return Parsed(text)

    @hookimpl
    def medtuned_score(self, task, golds, preds, rows):
        if task.name == self.task.name:
            return {"score": 1.0}


def test_evaluate_keeps_scoring_the_other_tasks_when_one_plugin_fails(tmp_path):
    import evaluate_helpers as helpers

    from medtuned_core.evaluate import evaluate

    registry = make_registry([toy_module(), ExplodingParser()], autoload=False)
    out = tmp_path / "eval"
    model = (helpers.model(), helpers.tokenizer())
    metrics = evaluate(model, ["toy-yesno", "exploding-parser"], TOY_SAMPLES, "test", out, "generate", registry=registry, progress=False)
    assert "score" in metrics["tasks"]["toy-yesno"] and metrics["tasks"]["toy-yesno"]["n"] == 2
    failed = metrics["tasks"]["exploding-parser"]
    assert failed["plugin"] == "ExplodingParser-1" and "cannot read model answers" in failed["error"]
    strict_json((out / "metrics.json").read_text())
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert sorted(r["task"] for r in rows) == ["exploding-parser"] * 2 + ["toy-yesno"] * 2  # every answer kept
    assert "| exploding-parser |" in (out / "results.md").read_text()
    from click.exceptions import Exit

    from medtuned_core.cli import exit_if_failed

    with pytest.raises(Exit):
        exit_if_failed(metrics["tasks"])  # what `medtuned evaluate` does after writing its files: exit 1
