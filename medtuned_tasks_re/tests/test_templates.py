"""Templates: enough of them, each naming the closed label set and the masks; our own wording."""

from __future__ import annotations

import json

import pytest

from medtuned_core.render import render_examples
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_re.tasks import GAD, GAD_OUTPUTS, GAD_TASK, I2B2_2010, I2B2_2010_TASK, I2B2_OUTPUTS, I2B2_RELATIONS, SPECS

GAD_TEMPLATES, I2B2_2010_TEMPLATES = GAD_TASK.templates, I2B2_2010_TASK.templates
# The relation types as the 2010 i2b2/VA challenge defines them: the first alias of each relation label.
I2B2_RELATION_NAMES = {label: SPECS[1].config.aliases[label][0] for label in I2B2_RELATIONS}

CASES = [(GAD_TEMPLATES, GAD_OUTPUTS, ("@GENE$", "@DISEASE$")), (I2B2_2010_TEMPLATES, I2B2_OUTPUTS, ("@problem$", "@test$", "@treatment$"))]


@pytest.mark.parametrize(("templates", "outputs", "masks"), CASES)
def test_each_template_names_every_output_and_mask(templates, outputs, masks):
    assert 5 <= len(templates) <= 10
    assert len(set(templates)) == len(templates)
    for template in templates:
        for needle in (*outputs, *masks):
            assert needle in template, (needle, template[:60])


def test_template_choice_is_seeded_and_uses_every_template(registry, samples):
    task = registry.get(I2B2_2010)
    examples = list(registry.load(task, samples, "train"))
    first = [r["template_id"] for r in render_examples(registry, task, examples, "train", seed=0)]
    assert first == [r["template_id"] for r in render_examples(registry, task, examples, "train", seed=0)]
    assert first != [r["template_id"] for r in render_examples(registry, task, examples, "train", seed=1)]
    assert {int(t.split(":")[1]) for t in first} == set(range(len(I2B2_2010_TEMPLATES)))


def test_custom_templates_replace_the_builtin_ones(registry, samples):
    task = registry.get(GAD)
    examples = list(registry.load(task, samples, "test"))[:5]
    rows = list(render_examples(registry, task, examples, "test", templates={GAD: ["Answer Positive or Negative."]}))
    assert {r["instruction"] for r in rows} == {"Answer Positive or Negative."}
    assert {r["template_id"] for r in rows} == {"custom:0"}
    assert all(r["choices"] == list(GAD_OUTPUTS) for r in rows)


@requires_corpora()
def test_templates_do_not_reuse_the_studys_wording():
    study = json.loads((shared_corpora() / "Llama2-MedTuned-reference" / "instruction_templates.json").read_text(encoding="utf-8"))
    theirs = [s for key in ("GAD", "i2b2-2010") for s in study[key]["instructions"]]
    # The i2b2 relation definitions are the challenge's, not the study's: phrases inside them may be shared.
    facts = [name.lower() for name in I2B2_RELATION_NAMES.values()]
    window = 30  # otherwise, no 30-character stretch of our templates appears in theirs
    for ours in (*GAD_TEMPLATES, *I2B2_2010_TEMPLATES):
        for start in range(0, max(1, len(ours) - window)):
            piece = ours[start : start + window]
            if not any(piece.lower().strip() in fact for fact in facts):
                assert not any(piece in t for t in theirs), piece
