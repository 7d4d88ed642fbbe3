"""Rendering HoC: outputs in the record's label order, the empty list, and the choices."""

from __future__ import annotations

from importlib import metadata

from medtuned_core.kits.labels.kit import set_choices
from medtuned_core.render import render_examples
from medtuned_tasks_cls.parser import parse_hoc
from medtuned_tasks_cls.tasks import OUTPUTS, SPECS

HOC_CHOICES = set_choices(SPECS[0].config)


def render(registry, task, labels):
    example = {"id": "93000000_2", "row_id": "3", "document_id": "93000000_2", "text": "Tumour cells spread to the liver .", "labels": labels}
    (row,) = render_examples(registry, task, [example], "test")
    return row


def test_outputs_follow_the_record_order(registry, task):
    row = render(registry, task, ["resisting cell death", "sustaining proliferative signaling"])
    assert row["input"] == "Tumour cells spread to the liver ."
    assert row["output"] == "Resisting cell death (CD), Sustaining proliferative signaling (PS)"
    assert row["id"] == "93000000_2"
    assert render(registry, task, ["none"])["output"] == "None"
    assert render(registry, task, [])["output"] == ""
    assert render(registry, task, ["genomic instability and mutation"])["output"] == "Genome instability & mutation (GI)"


def test_choices_are_single_labels_and_hallmark_pairs(registry, task):
    choices = render(registry, task, ["none"])["choices"]
    assert choices == list(HOC_CHOICES) and len(choices) == len(set(choices)) == 11 + 45
    assert choices[:11] == list(OUTPUTS)
    sizes = [len(parse_hoc(c, reference=None).value) for c in choices]
    assert sizes == [1] * 11 + [2] * 45
    assert all("None" not in c for c in choices[11:])


def test_entry_point_is_declared():
    eps = [ep for ep in metadata.entry_points(group="medtuned.plugins") if ep.name == "cls"]
    assert [ep.value for ep in eps] == ["medtuned_tasks_cls:plugin"]
