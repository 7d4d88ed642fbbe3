"""The tagging kit's readers: every supported format, errors with file:line, counted repairs (on two declared
tasks shaped like NCBI-disease, BioBERT TSV with untyped IOB2 tags, and i2b2-2012, typed CoNLL)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from medtuned_core.corpus import MissingSplitError
from medtuned_core.errors import CorpusFormatError
from medtuned_core.kits.declare import DeclaredTasks, declare
from medtuned_core.kits.tagging.readers import CorpusRepairWarning, find_source, read_column_file
from medtuned_core.kits.tagging.scheme import tag_set
from medtuned_core.plugins import make_registry

I2B2_2012_TAGS = tag_set("iob2", ("PROBLEM", "TEST", "TREATMENT", "CLINICAL_DEPT", "EVIDENTIAL", "OCCURRENCE"))
_META = {"kit": "tagging", "family": "ner", "description": "A test task.", "templates": ("Tag it.",), "options": {"repair": True}}
NCBI = declare(name="ncbi-disease", data_folder="NCBI-disease", files=("{split}.tsv",), separator="\t", **_META)
I2B2 = declare(name="i2b2-2012", data_folder="i2b2-2012", labels=I2B2_2012_TAGS, files=("{split}.txt.conll", "{split}.conll"), separator="whitespace", **_META)


@pytest.fixture(scope="module")
def registry():
    return make_registry([DeclaredTasks([NCBI, I2B2])], autoload=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def tsv(*sentences: list[tuple[str, str]]) -> str:
    return "".join("".join(f"{tok}\t{tag}\n" for tok, tag in s) + "\n" for s in sentences)


def load(registry, task, root: Path, split: str = "train", **options):
    return list(registry.load(registry.get(task.name), root, split, options))


def repair_messages(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CorpusRepairWarning)]


# -- split files and formats ------------------------------------------------------------------------------


def test_validation_reads_devel_and_dev(tmp_path):
    write(tmp_path / "NCBI-disease" / "devel.tsv", tsv([("a", "O")]))
    write(tmp_path / "i2b2-2012" / "dev.txt.conll", "a O\n\n")
    assert find_source("ncbi-disease", tmp_path / "NCBI-disease", "validation", NCBI.config.layout).path.name == "devel.tsv"
    assert find_source("i2b2-2012", tmp_path / "i2b2-2012", "validation", I2B2.config.layout).path.name == "dev.txt.conll"


@pytest.mark.parametrize("content", ["", "\n\n", "\r\n"])
def test_an_empty_split_file_is_an_error_naming_it(registry, tmp_path, content):
    path = write(tmp_path / "NCBI-disease" / "train.tsv", content)
    with pytest.raises(CorpusFormatError, match=f"{path}: holds no sentences"):
        load(registry, NCBI, tmp_path)


def test_missing_split_names_what_was_tried(registry, tmp_path):
    write(tmp_path / "NCBI-disease" / "train.tsv", tsv([("a", "O")]))
    with pytest.raises(MissingSplitError) as err:
        load(registry, NCBI, tmp_path, "test")
    assert isinstance(err.value, FileNotFoundError)
    assert "test.tsv" in str(err.value) and "test.jsonl" in str(err.value)


def test_crlf_and_bom_read_like_plain_files(registry, tmp_path):
    body = tsv([("Acute", "B"), ("pain", "I"), (".", "O")], [("None", "O")])
    write(tmp_path / "plain" / "NCBI-disease" / "train.tsv", body)
    write(tmp_path / "dos" / "NCBI-disease" / "train.tsv", "\ufeff" + body.replace("\n", "\r\n"))
    assert load(registry, NCBI, tmp_path / "plain") == load(registry, NCBI, tmp_path / "dos")


def test_conll_reads_typed_tags(registry, tmp_path):
    write(tmp_path / "i2b2-2012" / "train.txt.conll", "He O\nhad O\nchest B-PROBLEM\npain I-PROBLEM\n\nCT B-TEST\nshowed B-EVIDENTIAL\n\n")
    examples = load(registry, I2B2, tmp_path)
    assert [e["tags"] for e in examples] == [["O", "O", "B-PROBLEM", "I-PROBLEM"], ["B-TEST", "B-EVIDENTIAL"]]
    assert [e["line"] for e in examples] == [1, 6]


# -- errors naming file and line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("a\tO\nb O\n", 2, "2 columns"),
        ("a\tO\nb\tO\textra\n", 2, "found 3"),
        ("a\tO\n\tB\n", 2, "empty token"),
        ("a\tO\nb\tX\n", 2, "unknown tag 'X'"),
        ("a\tO\nb\tB-\n", 2, "unknown tag"),
        ("a\tO\n\nb\tO\nc\tE\n", 4, "unknown tag 'E'"),
        ("a\tO\nb\u00a0c\tO\n", 2, "whitespace"),
    ],
)
def test_malformed_tsv_names_file_and_line(registry, tmp_path, body, line, words):
    path = write(tmp_path / "NCBI-disease" / "train.tsv", body)
    with pytest.raises(CorpusFormatError) as err:
        load(registry, NCBI, tmp_path)
    assert err.value.path == str(path) and err.value.line == line
    assert f"{path}:{line}:" in str(err.value) and words in str(err.value)


def test_malformed_conll_names_file_and_line(registry, tmp_path):
    path = write(tmp_path / "i2b2-2012" / "train.txt.conll", "He O\nhad O\nchest pain B-PROBLEM\n")
    with pytest.raises(CorpusFormatError, match=r"train\.txt\.conll:3: expected 2 columns"):
        load(registry, I2B2, tmp_path)
    write(path, "He O\nhad B\n")  # an untyped tag in the typed task is not guessed at
    with pytest.raises(CorpusFormatError, match=r":2: unknown tag 'B'"):
        load(registry, I2B2, tmp_path)


def test_not_utf8_names_the_line(registry, tmp_path):
    path = tmp_path / "NCBI-disease" / "train.tsv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a\tO\nb\tO\n\ncaf\xe9\tO\n")
    with pytest.raises(CorpusFormatError, match=r"train\.tsv:4: not UTF-8"):
        load(registry, NCBI, tmp_path)


# -- documented repairs ------------------------------------------------------------------------------------


def test_repairs_are_made_counted_and_warned(registry, tmp_path):
    body = (
        "Acute\tO\npain\tI\n.\tO\n"  # I after O (line 2)
        "   \n"  # whitespace-only line: a sentence break (line 4)
        "cystic\tI\nfibrosis\tI\n\n"  # I at sentence start (line 5)
        "the\tO\nmyopathy\tB-Disease\n \t\n"  # typed tag collapsed (line 9), then a tab-and-space line
        "renal \tB\nfailure\t I\n\n"  # spaces around fields (lines 11, 12)
    )
    write(tmp_path / "NCBI-disease" / "train.tsv", body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        examples = load(registry, NCBI, tmp_path)
    assert [e["tokens"] for e in examples] == [["Acute", "pain", "."], ["cystic", "fibrosis"], ["the", "myopathy"], ["renal", "failure"]]
    assert [e["tags"] for e in examples] == [["O", "B", "O"], ["B", "I"], ["O", "B"], ["B", "I"]]
    messages = repair_messages(caught)
    assert any("2 × I tag starting an entity changed to B, first at line 2" in m for m in messages), messages
    assert any("2 × whitespace-only line read as a sentence break, first at line 4" in m for m in messages), messages
    assert any("1 × typed tag collapsed to untyped B/I, first at line 9" in m for m in messages), messages
    assert any("2 × spaces around a field stripped, first at line 11" in m for m in messages), messages
    assert all(m.startswith(str(tmp_path / "NCBI-disease" / "train.tsv")) for m in messages)


@pytest.mark.parametrize(
    ("body", "line"),
    [("a\tO\nb\tI\n", 2), ("a\tO\n  \nb\tO\n", 2), ("a\tB-Disease\n", 1), ("a \tO\n", 1)],
)
def test_repairs_can_be_turned_into_errors(registry, tmp_path, body, line):
    write(tmp_path / "NCBI-disease" / "train.tsv", body)
    with pytest.raises(CorpusFormatError, match=rf"train\.tsv:{line}: .*repair=true"):
        load(registry, NCBI, tmp_path, repair=False)


def test_typed_i_after_another_type_becomes_b(registry, tmp_path):
    write(tmp_path / "i2b2-2012" / "train.txt.conll", "CT B-TEST\nscan I-PROBLEM\nand O\nrash I-PROBLEM\nitch I-PROBLEM\n\n")
    with pytest.warns(CorpusRepairWarning, match="2 × I tag starting an entity changed to B, first at line 2"):
        examples = load(registry, I2B2, tmp_path)
    assert examples[0]["tags"] == ["B-TEST", "B-PROBLEM", "O", "B-PROBLEM", "I-PROBLEM"]


def test_clean_real_style_file_takes_no_repair(tmp_path):
    path = write(tmp_path / "t.tsv", tsv([("a", "B"), ("b", "I"), ("c", "O")], [("d", "O")]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        examples = read_column_file(path, NCBI.config.scheme, NCBI.config.layout)
    assert [e["id"] for e in examples] == ["0", "1"] and [e["line"] for e in examples] == [1, 5]


# -- JSONL and datasets folders ---------------------------------------------------------------------------


def test_jsonl_with_string_tags(registry, tmp_path):
    rows = [
        {"id": "s1", "tokens": ["Acute", "pain"], "ner_tags_str": ["B", "I"], "ner_tags": [1, 2]},
        {"id": "s2", "tokens": ["None"], "ner_tags_str": ["O"], "ner_tags": [0]},
    ]
    write(tmp_path / "NCBI-disease" / "validation.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    examples = load(registry, NCBI, tmp_path, "validation")
    assert [(e["id"], e["tokens"], e["tags"], e["line"]) for e in examples] == [("s1", ["Acute", "pain"], ["B", "I"], 1), ("s2", ["None"], ["O"], 2)]
    rendered = registry.render(registry.get("ncbi-disease"), examples[0], "Tag it.")
    assert rendered["output"] == "Acute : B\npain : I"


def test_jsonl_tags_field_option_and_errors(registry, tmp_path):
    path = write(tmp_path / "NCBI-disease" / "train.jsonl", json.dumps({"tokens": ["a", "b"], "mine": ["O", "B"], "tags": [0, 1]}) + "\n")
    assert load(registry, NCBI, tmp_path, tags_field="mine")[0]["tags"] == ["O", "B"]
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:1: no list of string tags"):
        load(registry, NCBI, tmp_path)
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:1: field 'tags' holds int tags without a label map"):
        load(registry, NCBI, tmp_path, tags_field="tags")
    write(path, json.dumps({"tokens": ["a"], "tags": ["O"]}) + "\n" + json.dumps({"tokens": ["a", "b"], "tags": ["O"]}) + "\n")
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:2: 2 tokens but 1 tags"):
        load(registry, NCBI, tmp_path)
    write(path, json.dumps({"id": 1, "tokens": ["a"], "tags": ["O"]}) + "\n" + json.dumps({"id": 1, "tokens": ["b"], "tags": ["O"]}) + "\n")
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:2: duplicate id '1'"):
        load(registry, NCBI, tmp_path)
    write(path, json.dumps({"tokens": [], "tags": []}) + "\n" + json.dumps({"tokens": ["b"], "tags": ["I"]}) + "\n")
    with pytest.warns(CorpusRepairWarning) as caught:
        examples = load(registry, NCBI, tmp_path)
    assert examples == [{"id": "0", "tokens": ["b"], "tags": ["B"], "line": 2}]
    assert {str(w.message).split(" × ")[1].split(",")[0] for w in caught} == {"record with no tokens skipped", "I tag starting an entity changed to B"}


def test_datasets_folders(registry, tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B", "I"]))}
    )
    train = datasets.Dataset.from_dict({"tokens": [["Acute", "pain", "."], ["None"]], "ner_tags": [[1, 2, 0], [0]]}, features=features)
    test = datasets.Dataset.from_dict({"tokens": [["cystic", "fibrosis"]], "ner_tags": [[1, 2]]}, features=features)
    datasets.DatasetDict({"train": train, "validation": test}).save_to_disk(str(tmp_path / "NCBI-disease"))
    assert [e["tags"] for e in load(registry, NCBI, tmp_path, "train")] == [["B", "I", "O"], ["O"]]
    assert [e["tokens"] for e in load(registry, NCBI, tmp_path, "validation")] == [["cystic", "fibrosis"]]
    # One Dataset per split folder, with string tags as nlpie's HF copies hold them.
    typed = datasets.Dataset.from_dict({"tokens": [["chest", "pain"]], "ner_tags_str": [["B-PROBLEM", "I-PROBLEM"]]})
    typed.save_to_disk(str(tmp_path / "i2b2-2012" / "test"))
    assert load(registry, I2B2, tmp_path, "test")[0]["tags"] == ["B-PROBLEM", "I-PROBLEM"]
    bad = datasets.Dataset.from_dict({"tokens": [["a"], ["b"]], "ner_tags_str": [["O"], ["X"]]})
    bad.save_to_disk(str(tmp_path / "i2b2-2012" / "dev"))
    with pytest.raises(CorpusFormatError, match=r"record 2: unknown tag 'X'"):
        load(registry, I2B2, tmp_path, "validation")
