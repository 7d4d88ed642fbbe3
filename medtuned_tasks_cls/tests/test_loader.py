"""HoC loading: the bigbio_text JSONL, ids, label order, split aliases, and every bad-input path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medtuned_core.corpus import MissingSplitError
from medtuned_core.errors import CorpusFormatError


def sentence(document_id: str = "91234567_0", labels=("none",), row_id: str = "1", **extra) -> dict:
    return {"id": row_id, "document_id": document_id, "text": "Cells were counted daily .", "labels": list(labels), **extra}


def write(folder: Path, stem: str, rows: list, raw_lines: list[str] | None = None) -> Path:
    path = folder / "HoC" / f"{stem}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in (raw_lines if raw_lines is not None else map(json.dumps, rows))), encoding="utf-8")
    return path


def load(registry, task, root, split="train"):
    return list(registry.load(task, root, split))


def test_samples(registry, task):
    counts = {s: len(load(registry, task, task.sample_data, s)) for s in task.splits}
    assert counts == {"train": 96, "validation": 64, "test": 72}
    examples = load(registry, task, task.sample_data, "test")
    assert set(examples[0]) == {"id", "document_id", "text", "labels"}
    assert all(e["id"] == e["document_id"] for e in examples)
    documents = {e["id"].rsplit("_", 1)[0] for e in examples}
    assert 5 <= len(documents) < len(examples)  # several sentences per abstract
    assert any(len(e["labels"]) > 1 and e["labels"] != sorted(e["labels"]) for e in examples)  # multi-label, record order kept
    assert any(e["labels"] == [] for e in examples)


def test_label_order_is_kept(registry, task, tmp_path):
    write(tmp_path, "train", [sentence(labels=["resisting cell death", "inducing angiogenesis"])])
    assert load(registry, task, tmp_path)[0]["labels"] == ["resisting cell death", "inducing angiogenesis"]


def test_validation_accepts_dev_and_a_missing_split_names_the_file(registry, task, tmp_path):
    write(tmp_path, "dev", [sentence()])
    assert [e["id"] for e in load(registry, task, tmp_path, "validation")] == ["91234567_0"]
    with pytest.raises(MissingSplitError, match="test.jsonl"):
        load(registry, task, tmp_path, "test")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({k: v for k, v in sentence().items() if k != "labels"}, "missing field.*'labels'"),
        (sentence(labels=["angiogenesis"]), "unknown label.*'angiogenesis'"),
        (sentence(labels=["none", "resisting cell death"]), "'none' cannot be combined"),
        (sentence(labels=["resisting cell death", "resisting cell death"]), "repeated"),
        ({**sentence(), "labels": "none"}, "field 'labels' must be list"),
        (sentence(document_id="91234567"), "id '91234567' does not name its document"),
        (sentence(document_id="91234567_x"), "does not name its document"),
        (sentence(document_id="90000001_0"), r"duplicate document_id '90000001_0' \(first at line 1\)"),
        (sentence(text="  "), "field 'text' is empty"),
        (sentence(document_id=None), "document_id must be a non-empty string"),
    ],
)
def test_bad_rows_name_file_and_line(registry, task, tmp_path, row, message):
    path = write(tmp_path, "train", [sentence(document_id="90000001_0"), row])
    with pytest.raises(CorpusFormatError, match=message) as err:
        load(registry, task, tmp_path)
    assert err.value.path == str(path) and err.value.line == 2


def test_invalid_json_json_array_and_empty_file(registry, task, tmp_path):
    write(tmp_path, "train", [], raw_lines=[json.dumps(sentence()), '{"id": "2",'])
    with pytest.raises(CorpusFormatError, match=r"train.jsonl:2: invalid JSON"):
        load(registry, task, tmp_path)
    write(tmp_path, "train", [], raw_lines=[json.dumps([sentence()])])
    with pytest.raises(CorpusFormatError, match="found a JSON array"):
        load(registry, task, tmp_path)
    write(tmp_path, "train", [], raw_lines=[])
    with pytest.raises(CorpusFormatError, match="no records"):
        load(registry, task, tmp_path)
