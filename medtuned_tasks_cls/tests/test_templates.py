"""Templates: enough of them, each listing every label with its abbreviation; seeded; swappable; our own wording."""

from __future__ import annotations

import json

from medtuned_core.render import render_examples, render_split
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_cls.tasks import HOC, HOC_TASK, OUTPUTS

HOC_TEMPLATES = HOC_TASK.templates
_INTRODUCTIONS = [t[: t.index("\n- ")] for t in HOC_TEMPLATES]  # each template: our sentences, then the label list


def test_each_template_lists_every_label_with_its_abbreviation():
    assert 5 <= len(HOC_TEMPLATES) <= 10 and len(set(HOC_TEMPLATES)) == len(HOC_TEMPLATES)
    for template in HOC_TEMPLATES:
        listed = [line[2:] for line in template.splitlines() if line.startswith("- ")]
        assert listed == list(OUTPUTS), template[:60]
        assert "(PS)" in template and "(A)" in template and "None" in template


def test_every_template_is_used_on_the_samples(registry, task):
    """(The seeded, id-keyed choice itself is the core's, tested in tests/test_render.py.)"""
    used = {r["template_id"] for r in render_split(registry, task, task.sample_data, "train")}
    assert used == {f"builtin:{i}" for i in range(len(HOC_TEMPLATES))}


def test_custom_templates_replace_the_builtin_ones(registry, task):
    examples = list(registry.load(task, task.sample_data, "test"))[:5]
    rows = list(render_examples(registry, task, examples, "test", templates={HOC: ["List the hallmarks."]}))
    assert {r["instruction"] for r in rows} == {"List the hallmarks."} and {r["template_id"] for r in rows} == {"custom:0"}


@requires_corpora()
def test_templates_do_not_reuse_the_studys_wording():
    study = json.loads((shared_corpora() / "Llama2-MedTuned-reference" / "instruction_templates.json").read_text(encoding="utf-8"))
    theirs = [s.lower() for entry in study.values() if isinstance(entry, dict) for s in entry.get("instructions", [])]
    assert theirs
    window = 30  # the label list is the hallmarks' standard names (facts); our own sentences share no 30-character stretch
    for ours in _INTRODUCTIONS:
        for start in range(0, max(1, len(ours) - window)):
            piece = ours[start : start + window].lower()
            assert not any(piece in t for t in theirs), piece
