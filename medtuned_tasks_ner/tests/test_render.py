"""Rendering, templates and the installed entry point (through the `medtuned` CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medtuned_core.kits.tagging import render_tags as render
from medtuned_core.render import render_split
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_ner.tasks import BY_NAME, I2B2_2012_TAGS


def test_render_is_the_study_format_with_a_tagging_hint():
    out = render(["Acute", "pain", ":", "none"], ["B", "I", "O", "O"], ("B", "I", "O"))
    assert out["input"] == "Acute pain : none"
    assert out["output"] == "Acute : B\npain : I\n: : O\nnone : O"
    assert out["tagging"] == {"tokens": ["Acute", "pain", ":", "none"], "labels": ["B", "I", "O"], "line": "{token} : {label}", "sep": "\n"}
    # The hint rebuilds the output exactly, which the evaluator's constrained mode relies on.
    hint = out["tagging"]
    assert hint["sep"].join(hint["line"].format(token=t, label=g) for t, g in zip(hint["tokens"], ["B", "I", "O", "O"], strict=True)) == out["output"]


def test_rendered_rows_of_every_task(registry, samples):
    for name in BY_NAME:
        task = registry.get(name)
        rows = list(render_split(registry, task, samples, "test", seed=3))
        assert len(rows) == 48
        for row in rows:
            assert row["tagging"]["labels"] == list(task.labels)
            assert row["input"].split(" ") == row["tagging"]["tokens"]
            assert len(row["output"].split("\n")) == len(row["tagging"]["tokens"])
            assert row["instruction"] in task.templates
        assert len({r["template_id"] for r in rows}) > 2, "the seeded choice should spread over the templates"
    i2b2 = list(render_split(registry, registry.get("i2b2-2012"), samples, "train", limit=5))
    assert i2b2[0]["tagging"]["labels"] == list(I2B2_2012_TAGS)
    assert any(line.endswith("-PROBLEM") for r in i2b2 for line in r["output"].split("\n"))


def test_templates_are_ours_and_explain_the_scheme():
    for task in BY_NAME.values():
        assert 5 <= len(task.templates) <= 10, task.name
        assert len(set(task.templates)) == len(task.templates)
        for text in task.templates:
            assert "token : label" in text or "`token : label`" in text, (task.name, text)
            if task.name == "i2b2-2012":
                assert "B-" in text and "O" in text
            else:
                assert "B" in text and "I" in text and "O" in text


def _shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@requires_corpora()
def test_templates_share_no_phrase_with_the_study():
    study = json.loads((shared_corpora() / "Llama2-MedTuned-reference" / "instruction_templates.json").read_text(encoding="utf-8"))
    theirs = set()
    for value in study.values():
        for text in value if isinstance(value, list) else []:
            if isinstance(text, str):
                theirs |= _shingles(text)
    for task in BY_NAME.values():
        for text in task.templates:
            assert not (_shingles(text) & theirs), (task.name, text)


def test_custom_templates_replace_the_builtin_set(registry, samples):
    custom = {"bc2gm": ["Tag genes."]}
    rows = list(render_split(registry, registry.get("bc2gm"), samples, "validation", templates=custom, limit=3))
    assert {r["instruction"] for r in rows} == {"Tag genes."} and rows[0]["template_id"] == "custom:0"


def test_entry_point_through_the_cli(tmp_path, samples):
    env = {**os.environ, "MEDTUNED_PLUGINS": "ner"}
    cli = [sys.executable, "-c", "from medtuned_core.cli import main; main()"]
    listed = json.loads(subprocess.run([*cli, "list-tasks", "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    assert {t["name"] for t in listed} == set(BY_NAME)
    assert all(t["package"] == "medtuned-tasks-ner" and t["metric"] == "entity_f1" for t in listed)
    out = tmp_path / "rows.jsonl"
    subprocess.run([*cli, "render", "jnlpba", "--data-dir", str(samples), "--split", "validation", "--out", str(out)], env=env, check=True, capture_output=True)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 48
    score_file = tmp_path / "score.jsonl"
    score_file.write_text(
        "".join(json.dumps({"task": r["task"], "input": r["input"], "reference": r["output"], "prediction": r["output"]}) + "\n" for r in rows)
    )
    scored = json.loads(subprocess.run([*cli, "score", str(score_file), "--json"], env=env, capture_output=True, text=True, check=True).stdout)
    assert scored["jnlpba"]["score"] == 1.0 and scored["jnlpba"]["n"] == 48 and scored["jnlpba"]["unparsed"] == 0
    missing = subprocess.run(
        [*cli, "render", "i2b2-2012", "--data-dir", str(tmp_path), "--split", "test", "--out", str(out)], env=env, capture_output=True, text=True
    )
    assert missing.returncode != 0 and "n2c2" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_sample_data_folder_is_declared(name):
    task = BY_NAME[name]
    assert Path(task.sample_data, task.data_folder).is_dir()
