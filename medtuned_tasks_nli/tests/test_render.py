"""Rendering MedNLI: the study's input form, the label outputs, choices, and our templates."""

from __future__ import annotations

from importlib import metadata

from medtuned_core.render import render_examples, render_split
from medtuned_tasks_nli.tasks import MEDNLI_TASK

MEDNLI_TEMPLATES = MEDNLI_TASK.templates


def test_input_output_and_choices(registry, task):
    example = {"id": "x1", "sentence1": "Chest x-ray was clear.", "sentence2": "The patient has pneumonia.", "gold_label": "contradiction"}
    (row,) = render_examples(registry, task, [example], "test")
    assert row["input"] == "Sentence 1: Chest x-ray was clear.\nSentence 2: The patient has pneumonia."
    assert row["output"] == "Contradiction"
    assert row["choices"] == ["Entailment", "Contradiction", "Neutral"]
    assert row["instruction"] in MEDNLI_TEMPLATES and row["id"] == "x1"


def test_every_output_is_one_of_the_choices(registry, task):
    rows = list(render_split(registry, task, task.sample_data, "train"))
    assert {r["output"] for r in rows} == {"Entailment", "Contradiction", "Neutral"}
    assert all(r["output"] in r["choices"] for r in rows)


def test_entry_point_is_declared():
    eps = [ep for ep in metadata.entry_points(group="medtuned.plugins") if ep.name == "nli"]
    assert [ep.value for ep in eps] == ["medtuned_tasks_nli:plugin"]
