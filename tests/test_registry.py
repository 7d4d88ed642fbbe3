"""The registry: in-process plugins, validation, broken-plugin isolation, hook dispatch and overrides."""

from __future__ import annotations

from dataclasses import replace

import pytest
from plugin_helpers import TOY_SAMPLES, toy_module

from medtuned_core import MissingDataError, Parsed, TaskInfo, UnknownTaskError, hookimpl
from medtuned_core.errors import PluginError
from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows


def test_in_process_plugin_registers_its_task():
    reg = make_registry([toy_module()], autoload=False)
    task = reg.get("toy-yesno")
    assert task.family == "cls" and task.n_templates == 2
    assert task.package == "medtuned_toy"  # registration name stands in for the distribution
    assert [p.ok for p in reg.plugins] == [True]
    assert sorted(reg.plugins[0].hooks) == [
        "medtuned_load_corpus",
        "medtuned_parse_output",
        "medtuned_register_tasks",
        "medtuned_render_instruction",
        "medtuned_score",
    ]


def test_unknown_task_suggests_close_names():
    reg = make_registry([toy_module()], autoload=False)
    with pytest.raises(UnknownTaskError, match="Did you mean: toy-yesno"):
        reg.get("toy-yesn0")


def test_missing_data_folder_names_the_path(tmp_path):
    reg = make_registry([toy_module()], autoload=False)
    with pytest.raises(MissingDataError, match=str(tmp_path / "Toy")):
        list(reg.load(reg.get("toy-yesno"), tmp_path, "train"))


def test_unknown_split_is_a_clear_error():
    reg = make_registry([toy_module()], autoload=False)
    with pytest.raises(PluginError, match="no split 'validation'"):
        reg.load(reg.get("toy-yesno"), TOY_SAMPLES, "validation")


class BadSignature:
    """medtuned_parse_output with an argument the spec does not have: pluggy rejects it."""

    @hookimpl
    def medtuned_parse_output(self, task, text, input, reference, surprise):
        return None


class RaisesOnRegister:
    @hookimpl
    def medtuned_register_tasks(self):
        raise RuntimeError("boom")


class IncompleteTask:
    """Declares a task but implements none of the four task hooks."""

    @hookimpl
    def medtuned_register_tasks(self):
        return [replace(toy_module().TASK, name="incomplete")]


class EscapingDataFolder:
    @hookimpl
    def medtuned_register_tasks(self):
        return [replace(toy_module().TASK, name="escape", data_folder="../../x")]


class AbsoluteDataFolder:
    @hookimpl
    def medtuned_register_tasks(self):
        return [replace(toy_module().TASK, name="absolute", data_folder="/etc")]


class InvalidMetadata:
    @hookimpl
    def medtuned_register_tasks(self):
        return [replace(toy_module().TASK, name="Bad Name", splits=("dev",))]


@pytest.mark.parametrize(
    ("plugin", "cause"),
    [
        (BadSignature(), "invalid hooks"),
        (RaisesOnRegister(), "medtuned_register_tasks failed: RuntimeError: boom"),
        (EscapingDataFolder(), "must stay inside the data root"),
        (AbsoluteDataFolder(), "not an absolute path"),
        (IncompleteTask(), "does not implement medtuned_load_corpus"),
        (InvalidMetadata(), "must be lower-case"),
    ],
)
def test_broken_plugin_is_reported_and_others_still_work(plugin, cause):
    reg = make_registry([toy_module(), plugin], autoload=False)
    good, bad = reg.plugins
    assert good.ok and not bad.ok
    assert cause in bad.error
    assert list(reg.tasks) == ["toy-yesno"]
    rows = list(render_split(reg, reg.get("toy-yesno"), TOY_SAMPLES, "test"))
    assert [r["output"] for r in rows] == ["yes", "no"]
    # the broken plugin's hooks are gone, so dispatch still reaches the toy
    assert not reg.pm.is_registered(plugin)


class StricterParser:
    """Overrides one hook of an existing task: only an exact answer counts."""

    @hookimpl(tryfirst=True)
    def medtuned_parse_output(self, task, text, input, reference):
        if task.name != "toy-yesno":
            return None
        value = text.strip().lower()
        return Parsed(value if value in ("yes", "no") else None, ok=value in ("yes", "no"))


def test_tryfirst_override_of_one_hook():
    rows = [
        {"task": "toy-yesno", "reference": "yes", "prediction": "The answer is yes."},
        {"task": "toy-yesno", "reference": "no", "prediction": "no"},
    ]
    plain = score_rows(make_registry([toy_module()], autoload=False), rows)["toy-yesno"]
    strict = score_rows(make_registry([toy_module(), StricterParser()], autoload=False), rows)["toy-yesno"]
    assert (plain["score"], plain["unparsed"]) == (1.0, 0)
    assert (strict["score"], strict["unparsed"]) == (0.5, 1)


def test_hooks_dispatch_to_the_provider_only():
    reg = make_registry([toy_module()], autoload=False)
    other = replace(reg.get("toy-yesno"), name="someone-else")
    with pytest.raises(PluginError, match="no plugin answered medtuned_render_instruction"):
        reg.render(other, {"id": "1", "question": "q", "label": "yes"}, "Answer.")


def test_medtuned_load_corpus_and_medtuned_render_instruction_give_rows():
    reg = make_registry([toy_module()], autoload=False)
    rows = list(render_split(reg, reg.get("toy-yesno"), TOY_SAMPLES, "train", seed=3))
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert all(r["template_id"].startswith("builtin:") and r["choices"] == ["yes", "no"] for r in rows)
    assert {r["instruction"] for r in rows} <= set(reg.get("toy-yesno").templates)


def test_medtuned_parse_output_and_medtuned_score_count_unparsed():
    reg = make_registry([toy_module()], autoload=False)
    rows = [
        {"task": "toy-yesno", "reference": "yes", "prediction": "Yes."},
        {"task": "toy-yesno", "reference": "no", "prediction": "I cannot tell"},
        {"task": "toy-yesno", "reference": "no", "prediction": "yes"},
    ]
    result = score_rows(reg, rows)["toy-yesno"]
    assert result == {"metric": "accuracy", "score": pytest.approx(1 / 3), "n": 3, "unparsed": 1, "gold_unparsed": 0}


def test_medtuned_register_tasks_fills_in_the_provider():
    reg = make_registry(autoload=False)
    reg.add_plugin(toy_module(), "toy", distribution="medtuned-toy", version="9.9")
    assert (reg.get("toy-yesno").package, reg.get("toy-yesno").version) == ("medtuned-toy", "9.9")


def test_score_units_is_optional_and_passed_through():
    """medtuned_score_units: None when no plugin answers; a plugin's UnitScores otherwise."""
    from medtuned_core import UnitScores

    class Units:
        @hookimpl
        def medtuned_score_units(self, task, golds, preds, rows):
            return UnitScores("example", [r["id"] for r in rows], [[1.0, 1.0] for _ in rows], lambda s: s[..., 0] / s[..., 1])

    reg = make_registry([], autoload=False)
    task = TaskInfo(name="t", family="cls", description="d", metric="accuracy", splits=("test",), data_folder="T", templates=("x",))
    assert reg.score_units(task, [], [], []) is None
    reg = make_registry([Units()], autoload=False)
    units = reg.score_units(task, [], [], [{"id": "a"}, {"id": "b"}])
    assert units.ids == ["a", "b"] and units.unit == "example"
