"""Rendering through the render hook (medtuned_render_instruction): input/output forms, choices and templates."""

from __future__ import annotations

import json

from medtuned_core.kits.labels import options_from_input
from medtuned_core.render import render_split
from medtuned_tasks_qa.tasks import SAMPLES, TASKS


def rows(registry, name, split="train", **options):
    return list(render_split(registry, registry.get(name), SAMPLES, split, options=options))


def test_medqa_rows_show_lettered_options_and_answer_with_letter_and_text(registry):
    examples = list(registry.load(registry.get("medqa"), SAMPLES, "test"))
    rendered = rows(registry, "medqa", "test")
    for example, row in zip(examples, rendered, strict=True):
        letter = example["answer_idx"]
        assert row["output"] == f"{letter}. {example['options'][letter]}"
        assert row["input"].startswith(example["question"]) and row["input"].endswith(f"D. {example['options']['D']}")
        assert row["choices"] == [f"{k}. {v}" for k, v in example["options"].items()] and row["output"] in row["choices"]
        assert options_from_input(row["input"]) == example["options"]


def test_pubmedqa_rows_hold_question_and_labelled_contexts_but_not_the_conclusion(registry):
    pqal = json.loads((SAMPLES / "PubMedQA" / "ori_pqal.json").read_text())
    for row in rows(registry, "pubmedqa", "test"):
        entry = pqal[row["id"]]
        assert row["input"].startswith(f"Question: {entry['QUESTION']}\n\nContext:\n")
        for label, context in zip(entry["LABELS"], entry["CONTEXTS"], strict=True):
            assert f"{label}: {context}" in row["input"]
        assert entry["LONG_ANSWER"] not in row["input"]
        assert row["output"] == entry["final_decision"] and row["choices"] == ["yes", "no", "maybe"]


def test_chatdoctor_fixed_instruction_is_replaced_by_ours(registry):
    records = json.loads((SAMPLES / "ChatDoctor-GenMedGPT-5k" / "chatdoctor5k.json").read_text())
    fixed = {r["instruction"] for r in records}
    rendered = rows(registry, "chatdoctor")
    assert len(fixed) == 1 and not fixed & {r["instruction"] for r in rendered}
    used = {r["template_id"] for r in rendered}
    assert len(used) >= 6 and all(t.startswith("builtin:") for t in used)  # seeded spread over the ten templates
    answers = {}
    for r in records:
        answers.setdefault(r["input"].strip(), set()).add(r["output"].strip())
    assert all(r["output"] in answers[r["input"]] for r in rendered)


def test_pmc_llama_rows_keep_the_row_request_in_the_input(registry):
    raw = {f"{r['source']}-{r['sample_id']}": r for r in json.loads((SAMPLES / "PMC-LLaMA" / "release.json").read_text())}
    rendered = rows(registry, "pmc-llama", sources="medmcqa,umls")
    assert {r["id"].split("-")[0] for r in rendered} == {"medmcqa", "umls"}
    for row in rendered:
        source = raw[row["id"]]
        assert row["input"] == source["instruction"].strip() + "\n\n" + source["input"].strip()
        assert row["output"] == source["output"] and "choices" not in row


def test_templates_are_ours_and_plentiful():
    counts = {name: len(task.templates) for name, task in TASKS.items()}
    assert counts["chatdoctor"] == 10 and all(n >= 6 for n in counts.values())
    for task in TASKS.values():
        assert len(set(task.templates)) == len(task.templates)


def test_render_is_seeded(registry):
    task = registry.get("medqa")
    first = list(render_split(registry, task, SAMPLES, "test", seed=1))
    again = list(render_split(registry, task, SAMPLES, "test", seed=1))
    other = list(render_split(registry, task, SAMPLES, "test", seed=2))
    assert first == again and [r["template_id"] for r in first] != [r["template_id"] for r in other]
