"""Prompt format, template choice, user templates, JSONL I/O."""

from __future__ import annotations

import json

import pytest
from plugin_helpers import TOY_SAMPLES, toy_module

from medtuned_core import CorpusFormatError
from medtuned_core.jsonl import atomic_writer, read_jsonl, write_jsonl
from medtuned_core.plugins import make_registry
from medtuned_core.prompt import format_prompt, format_record
from medtuned_core.render import choose_template, load_templates, render_split, sample_rows


def test_one_prompt_format_for_training_and_evaluation():
    prompt = format_prompt("Tag the diseases.", "Fever and cough")
    assert prompt == "### Instruction:\nTag the diseases.\n\n### Input:\nFever and cough\n\n### Output:\n"
    assert format_record({"instruction": "Tag the diseases.", "input": "Fever and cough", "output": "x"}) == (prompt, "x")
    assert format_prompt("Say hi.") == "### Instruction:\nSay hi.\n\n### Output:\n"


def test_template_choice_is_seeded_and_keyed_on_the_example():
    picks = [choose_template(7, "t", "train", str(i), 5) for i in range(200)]
    assert picks == [choose_template(7, "t", "train", str(i), 5) for i in range(200)]
    assert set(picks) == set(range(5))
    assert picks != [choose_template(8, "t", "train", str(i), 5) for i in range(200)]


def test_user_templates_replace_builtin(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"toy-yesno": ["Custom A", "Custom B", "Custom C"]}))
    reg = make_registry([toy_module()], autoload=False)
    rows = list(render_split(reg, reg.get("toy-yesno"), TOY_SAMPLES, "train", templates=load_templates(path)))
    assert {r["instruction"] for r in rows} <= {"Custom A", "Custom B", "Custom C"}
    assert all(r["template_id"].startswith("custom:") for r in rows)


@pytest.mark.parametrize(
    ("content", "message"),
    [('{"t": []}', "non-empty list"), ('["a"]', "expected a JSON object"), ('{"t": ["a"', "invalid JSON")],
)
def test_bad_templates_file(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(CorpusFormatError, match=message):
        load_templates(path)


def test_read_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(CorpusFormatError, match=r"x.jsonl:3: invalid JSON"):
        list(read_jsonl(path))
    path.write_text('[{"a": 1}]\n')
    with pytest.raises(CorpusFormatError, match="found a JSON array"):
        list(read_jsonl(path))


def test_atomic_writer_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"a": 1}])
    with pytest.raises(RuntimeError), atomic_writer(target) as fh:
        fh.write("partial")
        raise RuntimeError("killed")
    assert target.read_text() == '{"a": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_bad_corpus_line_names_file_and_line(tmp_path):
    (tmp_path / "Toy").mkdir()
    (tmp_path / "Toy" / "train.tsv").write_text("q1\tyes\nq2\tmaybe\n")
    reg = make_registry([toy_module()], autoload=False)
    with pytest.raises(CorpusFormatError, match=r"train.tsv:2: expected"):
        list(render_split(reg, reg.get("toy-yesno"), tmp_path, "train"))


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    import os

    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"a": 1}])
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_sample_rows_is_a_fixed_nested_sample_in_corpus_order():
    rows = [{"id": str(i), "label": int(i < 50)} for i in range(100)]  # sorted like a GAD fold: positives first
    twenty = sample_rows(rows, 20, 0, "t", "test")
    assert len(twenty) == 20 and twenty == sample_rows(rows, 20, 0, "t", "test")
    assert [int(r["id"]) for r in twenty] == sorted(int(r["id"]) for r in twenty)  # corpus order kept
    assert 0 < sum(r["label"] for r in twenty) < 20  # both classes, unlike the first 20
    forty = sample_rows(rows, 40, 0, "t", "test")
    assert {r["id"] for r in twenty} <= {r["id"] for r in forty}  # a grown limit keeps the smaller sample
    assert twenty != sample_rows(rows, 20, 1, "t", "test")  # another seed, another sample
    assert sample_rows(rows, 500, 0, "t", "test") == rows and sample_rows(rows, None, 0, "t", "test") == rows
