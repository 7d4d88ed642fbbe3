"""``medtuned predict``: a task applied to a user's raw text (sentences and tokens for tagging tasks, the
text as input for label tasks), the parsed result, entities located in the original text."""

from __future__ import annotations

import json

import evaluate_helpers as helpers
import pytest
from click.testing import CliRunner

from medtuned_core import cli as cli_module
from medtuned_core.evaluate.predict import bio_entities, compose_input, predict, split_sentences, tokenize
from medtuned_core.testing_models import build_tiny_model

NOTE = "Mild fever was noted after the scan. The patient (62) had acute renal-failure!\nNo cough today"


@pytest.fixture
def data(tmp_path):
    return helpers.write_data(tmp_path / "data")


def test_sentences_and_tokens_keep_their_offsets():
    spans = split_sentences(NOTE)
    assert [NOTE[a:b] for a, b in spans] == ["Mild fever was noted after the scan.", "The patient (62) had acute renal-failure!", "No cough today"]
    words, offsets = tokenize("acute renal-failure (62)!")
    assert words == ["acute", "renal", "-", "failure", "(", "62", ")", "!"]
    assert all("acute renal-failure (62)!"[a:b] == w for w, (a, b) in zip(words, offsets, strict=True))


def test_bio_entities_typed_untyped_and_stray_inside_tags():
    assert bio_entities(["B", "I", "O", "B", "B", "I"]) == [(0, 2, ""), (3, 4, ""), (4, 6, "")]
    assert bio_entities(["O", "I", "I", "O"]) == [(1, 3, "")]
    assert bio_entities(["B-TEST", "I-TEST", "I-PROBLEM", "O"]) == [(0, 2, "TEST"), (2, 3, "PROBLEM")]
    assert bio_entities([]) == []


def test_compose_input_follows_a_labelled_sample():
    sample = "Sentence 1: first.\nSentence 2: second."
    assert compose_input(sample, ["a b", "c d"]) == "Sentence 1: a b\nSentence 2: c d"
    assert compose_input(sample, ["only one"]) == "only one"
    assert compose_input("plain text", ["a", "b"]) == "a\nb"


def test_predict_tags_each_sentence_and_locates_entities(data):
    items = predict((helpers.model(), helpers.tokenizer()), "toy-tagger", [NOTE], registry=helpers.registry(), data_dir=data)
    assert [i["source"] for i in items] == ["Mild fever was noted after the scan.", "The patient (62) had acute renal-failure!", "No cough today"]
    for item in items:
        assert item["method"] == "tag" and item["ok"]
        assert len(item["parsed"]) == len(item["input"].split())
        for ent in item["entities"]:
            assert item["source"][ent["start"] : ent["end"]] == ent["text"]
    generated = predict((helpers.model(), helpers.tokenizer()), "toy-tagger", [NOTE], mode="generate", registry=helpers.registry(), data_dir=data)
    assert {i["method"] for i in generated} == {"generate"}


def test_predict_ranks_a_fixed_label_set(data):
    items = predict((helpers.model(), helpers.tokenizer()), "toy-yesno", ["Is the sky green?", "Do fish swim?"], registry=helpers.registry(), data_dir=data)
    assert [i["method"] for i in items] == ["rank", "rank"]
    assert all(i["parsed"] in ("yes", "no") and i["ok"] for i in items)


def test_cli_predict_text_and_file(tmp_path, data, monkeypatch):
    reg = helpers.registry()
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    model_dir = build_tiny_model(tmp_path / "model")
    runner = CliRunner()
    res = runner.invoke(
        cli_module.cli, ["predict", "--model", str(model_dir), "--task", "toy-tagger", "--data-dir", str(data), "Mild fever. No cough", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert [i["source"] for i in json.loads(res.stdout)] == ["Mild fever.", "No cough"]
    notes = tmp_path / "notes.txt"
    notes.write_text("Is ice hot?\n\nIs snow white?\n", encoding="utf-8")
    res = runner.invoke(cli_module.cli, ["predict", "--model", str(model_dir), "--task", "toy-yesno", "--data-dir", str(data), "--file", str(notes)])
    assert res.exit_code == 0 and res.stdout.count("→") == 2
    res = runner.invoke(cli_module.cli, ["predict", "--model", str(model_dir), "--task", "toy-yesno"])
    assert res.exit_code != 0 and "TEXT or --file" in res.output
