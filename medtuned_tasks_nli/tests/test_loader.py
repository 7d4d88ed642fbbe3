"""MedNLI loading: the release JSONL, BLUE's TSV, split aliases, and every bad-input path."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from medtuned_core.corpus import MissingSplitError
from medtuned_core.errors import CorpusFormatError
from medtuned_tasks_nli.loader import read_mednli
from medtuned_tasks_nli.tasks import MEDNLI_TASK


def pair(pair_id: str = "p1", label: str = "entailment", **extra) -> dict:
    row = {"sentence1": "The patient was given aspirin.", "pairID": pair_id, "sentence1_parse": "", "sentence1_binary_parse": ""}
    row.update({"sentence2": "The patient received a drug.", "sentence2_parse": "", "sentence2_binary_parse": "", "gold_label": label})
    row.update(extra)
    return row


def write_jsonl(folder: Path, split_stem: str, rows: list, raw_lines: list[str] | None = None) -> Path:
    """``folder/MedNLI/mli_{split_stem}_v1.jsonl`` from row dicts (or raw lines)."""
    path = folder / "MedNLI" / f"mli_{split_stem}_v1.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = raw_lines if raw_lines is not None else [json.dumps(r) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def load(registry, task, root, split="train", **options):
    return list(registry.load(task, root, split, options))


def test_samples_have_every_split_and_field(registry, task):
    counts = {s: len(load(registry, task, task.sample_data, s)) for s in task.splits}
    assert counts == {"train": 96, "validation": 60, "test": 60}
    first = load(registry, task, task.sample_data, "test")[0]
    assert set(first) == {"id", "sentence1", "sentence2", "gold_label"}
    # The sample files carry every SNLI-style field of the release, as the format requires.
    raw = json.loads(Path(task.sample_data, "MedNLI", "mli_test_v1.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(raw) == {
        "pairID",
        "sentence1",
        "sentence2",
        "gold_label",
        "sentence1_parse",
        "sentence1_binary_parse",
        "sentence2_parse",
        "sentence2_binary_parse",
    }


def test_validation_reads_the_dev_file(registry, task, tmp_path):
    write_jsonl(tmp_path, "dev", [pair("d1", "neutral")])
    assert [e["id"] for e in load(registry, task, tmp_path, "validation")] == ["d1"]


def test_missing_split_names_the_file(registry, task, tmp_path):
    write_jsonl(tmp_path, "train", [pair()])
    with pytest.raises(MissingSplitError, match="mli_test_v1.jsonl"):
        load(registry, task, tmp_path, "test")


def test_labels_are_case_insensitive_and_kept_lower_case(registry, task, tmp_path):
    write_jsonl(tmp_path, "train", [pair("a", "Contradiction"), pair("b", " NEUTRAL ")])
    assert [e["gold_label"] for e in load(registry, task, tmp_path)] == ["contradiction", "neutral"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({k: v for k, v in pair().items() if k != "gold_label"}, "missing field.*'gold_label'"),
        (pair(label="maybe"), "unknown gold_label 'maybe'"),
        (pair(label=None), "unknown gold_label None"),
        (pair(sentence2=""), "sentence2 must be a non-empty string"),
        (pair(pair_id=""), "pairID must be a non-empty string"),
    ],
)
def test_bad_rows_name_file_and_line(registry, task, tmp_path, row, message):
    path = write_jsonl(tmp_path, "train", [pair("ok1"), row])
    with pytest.raises(CorpusFormatError, match=message) as err:
        load(registry, task, tmp_path)
    assert err.value.path == str(path) and err.value.line == 2


def test_invalid_json_and_duplicate_ids(registry, task, tmp_path):
    write_jsonl(tmp_path, "train", [], raw_lines=[json.dumps(pair("x")), "{not json"])
    with pytest.raises(CorpusFormatError, match=r"mli_train_v1.jsonl:2: invalid JSON"):
        load(registry, task, tmp_path)
    write_jsonl(tmp_path, "train", [pair("x"), pair("y"), pair("x")])
    with pytest.raises(CorpusFormatError, match=r":3: duplicate pairID 'x' \(first on line 1\)"):
        load(registry, task, tmp_path)


def test_empty_file_is_an_error(registry, task, tmp_path):
    write_jsonl(tmp_path, "train", [], raw_lines=[])
    with pytest.raises(CorpusFormatError, match="no sentence pairs"):
        load(registry, task, tmp_path)


def test_no_consensus_rows_are_skipped_and_counted(registry, task, tmp_path, caplog):
    write_jsonl(tmp_path, "train", [pair("a"), pair("b", "-"), pair("c", "neutral"), pair("d", "-")])
    with caplog.at_level(logging.WARNING, logger="medtuned_tasks_nli.loader"):
        examples = load(registry, task, tmp_path)
    assert [e["id"] for e in examples] == ["a", "c"]
    assert "skipped 2 pair(s) with gold_label '-'" in caplog.text
    with pytest.raises(CorpusFormatError, match=r":2: gold_label '-'"):
        load(registry, task, tmp_path, no_consensus="error")
    with pytest.raises(CorpusFormatError, match="no_consensus='keep'"):
        load(registry, task, tmp_path, no_consensus="keep")


def test_a_file_of_only_no_consensus_rows_is_an_error(registry, task, tmp_path):
    write_jsonl(tmp_path, "train", [pair("a", "-")])
    with pytest.raises(CorpusFormatError, match=r"only pairs without a gold label \(1\)"):
        load(registry, task, tmp_path)


# --- BLUE's TSV conversion ----------------------------------------------------------------------


def write_tsv(tmp_path, name: str, text: str):
    path = tmp_path / "MedNLI" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_blue_tsv_with_quoted_fields(registry, task, tmp_path):
    # BLUE writes with csv.writer: a field holding a quote is wrapped in quotes and the quote doubled.
    write_tsv(
        tmp_path, "dev.tsv", 'index\tsentence1\tsentence2\tlabel\nq1\tShe said "fine".\tShe felt well.\tneutral\nq2\tNo rash.\tRash present.\tcontradiction\n'
    )
    examples = load(registry, task, tmp_path, "validation")
    assert examples == [
        {"id": "q1", "sentence1": 'She said "fine".', "sentence2": "She felt well.", "gold_label": "neutral"},
        {"id": "q2", "sentence1": "No rash.", "sentence2": "Rash present.", "gold_label": "contradiction"},
    ]
    quoted = write_tsv(tmp_path, "test.tsv", 'index\tsentence1\tsentence2\tlabel\nq1\t"He said ""no""."\tHe refused.\tentailment\n')
    assert [e["sentence1"] for e in read_mednli(quoted)] == ['He said "no".']


def test_jsonl_wins_over_tsv(registry, task, tmp_path):
    write_tsv(tmp_path, "train.tsv", "index\tsentence1\tsentence2\tlabel\nt1\tA.\tB.\tneutral\n")
    write_jsonl(tmp_path, "train", [pair("j1")])
    assert [e["id"] for e in load(registry, task, tmp_path)] == ["j1"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("t1\tA.\tB.\tneutral\n", 1, "header is missing"),
        ("id\ts1\ts2\tgold\nt1\tA.\tB.\tneutral\n", 1, "expected BLUE's header"),
        ("index\tsentence1\tsentence2\tlabel\nt1\tA.\tB.\tneutral\nt2\tA.\tneutral\n", 3, "expected 4 tab-separated columns"),
        ("index\tsentence1\tsentence2\tlabel\nt1\tA.\tB.\tneutral\nindex\tsentence1\tsentence2\tlabel\n", 3, "second header"),
        ("index\tsentence1\tsentence2\tlabel\nt1\tA.\tB.\tentails\n", 2, "unknown gold_label 'entails'"),
        ("index\tsentence1\tsentence2\tlabel\n", None, "no sentence pairs"),
    ],
)
def test_bad_blue_tsv(registry, task, tmp_path, text, line, message):
    path = write_tsv(tmp_path, "train.tsv", text)
    with pytest.raises(CorpusFormatError, match=message) as err:
        load(registry, task, tmp_path)
    assert err.value.path == str(path) and err.value.line == line


def test_metadata_marks_the_set_credentialed():
    assert MEDNLI_TASK.access == "credentialed"
    assert "physionet.org" in MEDNLI_TASK.how_to_obtain and "MedNLI/" in MEDNLI_TASK.how_to_obtain
