"""Templates: enough of them, each naming the three answers; seeded choice; swappable; our own wording."""

from __future__ import annotations

import json

from medtuned_core.render import render_examples, render_split
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_nli.tasks import MEDNLI, MEDNLI_OUTPUTS, MEDNLI_TASK

MEDNLI_TEMPLATES = MEDNLI_TASK.templates


def test_each_template_names_every_answer():
    assert 5 <= len(MEDNLI_TEMPLATES) <= 10 and len(set(MEDNLI_TEMPLATES)) == len(MEDNLI_TEMPLATES)
    for template in MEDNLI_TEMPLATES:
        for label in MEDNLI_OUTPUTS:
            assert label in template, (label, template[:60])


def test_template_choice_is_seeded_and_uses_every_template(registry, task):
    first = [r["template_id"] for r in render_split(registry, task, task.sample_data, "train", seed=0)]
    assert first == [r["template_id"] for r in render_split(registry, task, task.sample_data, "train", seed=0)]
    assert first != [r["template_id"] for r in render_split(registry, task, task.sample_data, "train", seed=1)]
    assert {int(t.split(":")[1]) for t in first} == set(range(len(MEDNLI_TEMPLATES)))


def test_custom_templates_replace_the_builtin_ones(registry, task):
    examples = list(registry.load(task, task.sample_data, "test"))[:5]
    rows = list(render_examples(registry, task, examples, "test", templates={MEDNLI: ["Entailment, Contradiction or Neutral?"]}))
    assert {r["instruction"] for r in rows} == {"Entailment, Contradiction or Neutral?"} and {r["template_id"] for r in rows} == {"custom:0"}
    assert all(r["choices"] == list(MEDNLI_OUTPUTS) for r in rows)


@requires_corpora()
def test_templates_do_not_reuse_the_studys_wording():
    study = json.loads((shared_corpora() / "Llama2-MedTuned-reference" / "instruction_templates.json").read_text(encoding="utf-8"))
    theirs = [s.lower() for entry in study.values() if isinstance(entry, dict) for s in entry.get("instructions", [])]
    assert theirs
    window = 30  # no 30-character stretch of our templates appears in any of the study's instructions
    for ours in MEDNLI_TEMPLATES:
        for start in range(0, max(1, len(ours) - window)):
            piece = ours[start : start + window].lower()
            assert not any(piece in t for t in theirs), piece
