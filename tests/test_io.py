"""The input layer (medtuned_core.io): one-line errors with path and line for every way a file can be bad."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medtuned_core import io
from medtuned_core.errors import CorpusFormatError, MissingFileError
from medtuned_core.jsonl import read_jsonl


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def one_line_error(exc: BaseException, path: Path, line: int | None = None) -> str:
    text = str(exc)
    assert "\n" not in text and len(text) < 600, text
    assert text.startswith(f"{path}:{line}:" if line else f"{path}:"), text
    return text


def test_text_with_bom_and_crlf(tmp_path):
    path = write(tmp_path / "a.txt", b"\xef\xbb\xbfone\r\ntwo\rstill two\r\n\r\nfour")
    assert io.read_text(path) == "one\ntwo\rstill two\n\nfour"
    assert list(io.iter_lines(path)) == [(1, "one"), (2, "two\rstill two"), (3, ""), (4, "four")]


def test_utf16_with_bom_is_decoded(tmp_path):
    path = write(tmp_path / "u.txt", "α\tβ\r\nγ\n".encode("utf-16"))
    assert io.read_text(path) == "α\tβ\nγ\n"
    assert list(io.iter_lines(path)) == [(1, "α\tβ"), (2, "γ")]


def test_other_encoding_on_request(tmp_path):
    path = write(tmp_path / "l.txt", "caf\xe9\n".encode("latin-1"))
    with pytest.raises(CorpusFormatError, match=r"l\.txt:1: not UTF-8"):
        io.read_text(path)
    assert io.read_text(path, encoding="latin-1") == "café\n"
    assert list(io.iter_lines(path, encoding="latin-1")) == [(1, "café")]


@pytest.mark.parametrize("reader", [io.read_text, lambda p: list(io.iter_lines(p)), lambda p: list(io.read_jsonl(p)), lambda p: list(io.read_rows(p))])
def test_invalid_utf8_and_binary_name_the_line(tmp_path, reader):
    bad = write(tmp_path / "bad.txt", b'{"a": 1}\n{"b": 2}\n{"c": "\xff"}\n')
    with pytest.raises(CorpusFormatError) as err:
        reader(bad)
    assert "not UTF-8" in one_line_error(err.value, bad, 3)
    binary = write(tmp_path / "bin.txt", b'{"a": 1}\n\x00\x01\x02\n')
    with pytest.raises(CorpusFormatError) as err:
        reader(binary)
    assert "binary data" in one_line_error(err.value, binary, 2)


@pytest.mark.parametrize("reader", [io.read_text, lambda p: list(io.iter_lines(p)), io.read_json, io.read_toml, lambda p: list(io.read_rows(p))])
def test_missing_folder_and_unreadable(tmp_path, reader, monkeypatch):
    with pytest.raises(MissingFileError) as err:
        reader(tmp_path / "nope.txt")
    assert isinstance(err.value, FileNotFoundError)  # split probing still works with `except FileNotFoundError`
    assert "file not found" in one_line_error(err.value, tmp_path / "nope.txt")
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(CorpusFormatError, match="is a folder, expected a file"):
        reader(tmp_path / "dir.txt")
    locked = write(tmp_path / "locked.txt", b"x\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)
    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CorpusFormatError) as err:
        reader(locked)
    assert "permission denied" in one_line_error(err.value, locked)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_for_real(tmp_path):
    locked = write(tmp_path / "locked.txt", b"x\n")
    locked.chmod(0)
    with pytest.raises(CorpusFormatError, match="permission denied"):
        io.read_text(locked)


def test_check_dir_refuses_a_file(tmp_path):
    path = write(tmp_path / "f", b"")
    with pytest.raises(CorpusFormatError, match="is a file, expected a folder"):
        io.check_dir(path)
    with pytest.raises(MissingFileError, match="folder not found"):
        io.check_dir(tmp_path / "none")


def test_a_huge_bad_line_is_quoted_short(tmp_path):
    path = write(tmp_path / "big.jsonl", b'{"a": 1}\n{' + b"x" * 5_000_000 + b"\n")
    with pytest.raises(CorpusFormatError) as err:
        list(read_jsonl(path))
    text = one_line_error(err.value, path, 2)
    assert "5,000,001 characters" in text and len(text) < 300
    # The error class itself caps whatever a caller puts in a message.
    assert len(str(CorpusFormatError(path, 1, "y" * 10_000))) < 500
    assert "\n" not in str(CorpusFormatError(path, 1, "two\nlines"))


def test_jsonl_shapes(tmp_path):
    path = write(tmp_path / "a.jsonl", b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"b": 2}\n')
    assert list(io.read_jsonl(path)) == [(1, {"a": 1}), (3, {"b": 2})]
    array = write(tmp_path / "arr.jsonl", b'[{"a": 1}]\n')
    with pytest.raises(CorpusFormatError, match=r"arr\.jsonl:1: expected JSONL .*found a JSON array"):
        list(io.read_jsonl(array))
    scalar = write(tmp_path / "s.jsonl", b'{"a": 1}\n3\n')
    with pytest.raises(CorpusFormatError, match=r"s\.jsonl:2: expected a JSON object, found int"):
        list(io.read_jsonl(scalar))


def test_json_and_toml_errors_name_the_line(tmp_path):
    path = write(tmp_path / "a.json", b'{\n "a": 1,\n "b": }\n')
    with pytest.raises(CorpusFormatError, match=r"a\.json:3: invalid JSON"):
        io.read_json(path)
    assert io.read_json(write(tmp_path / "ok.json", b'\xef\xbb\xbf{"a": [1]}')) == {"a": [1]}
    toml = write(tmp_path / "t.toml", b'a = 1\nb = "x"\nc = \n')
    with pytest.raises(CorpusFormatError, match=r"t\.toml:3: invalid TOML \(Invalid value\)"):
        io.read_toml(toml)
    assert io.read_toml(write(tmp_path / "ok.toml", b'a = 1\r\n[t]\r\nb = "x"\r\n')) == {"a": 1, "t": {"b": "x"}}


def test_rows_plain_quoted_and_whitespace(tmp_path):
    path = write(tmp_path / "t.tsv", b'# comment\na\t"b\n\nc\td\n')
    assert list(io.read_rows(path, comment="#")) == [(2, ["a", '"b']), (4, ["c", "d"])]
    assert list(io.read_rows(path, comment="#", skip_blank=False)) == [(2, ["a", '"b']), (3, []), (4, ["c", "d"])]
    conll = write(tmp_path / "c.conll", b"tok  B-X\n tok2\tO \n")
    assert list(io.read_rows(conll, None)) == [(1, ["tok", "B-X"]), (2, ["tok2", "O"])]
    csv_file = write(tmp_path / "c.csv", b'id,text\n1,"two\nlines"\n2,plain\n')
    assert list(io.read_rows(csv_file, ",", quoting=True)) == [(1, ["id", "text"]), (2, ["1", "two\nlines"]), (4, ["2", "plain"])]
    broken = write(tmp_path / "b.csv", b'id,text\n1,"open\n')
    with pytest.raises(CorpusFormatError, match=r"b\.csv:2: malformed CSV"):
        list(io.read_rows(broken, ",", quoting=True))


def test_records_check_the_header_and_widths(tmp_path):
    path = write(tmp_path / "r.tsv", b"index\tsentence\tlabel\n0\tHello\t1\n1\tshort\n")
    rows = io.read_records(path, required=("sentence", "label"))
    assert next(rows) == (2, {"index": "0", "sentence": "Hello", "label": "1"})
    with pytest.raises(CorpusFormatError, match=r"r\.tsv:3: expected 3 columns \(index, sentence, label\), found 2"):
        next(rows)
    with pytest.raises(CorpusFormatError, match=r"r\.tsv:1: header lacks column\(s\) text"):
        list(io.read_records(path, required=("text",)))
    assert next(io.read_records(path, fieldnames=("a", "b", "c"))) == (1, {"a": "index", "b": "sentence", "c": "label"})
    with pytest.raises(CorpusFormatError, match="empty file"):
        list(io.read_records(write(tmp_path / "e.tsv", b"")))


def test_text_stream_is_the_hook_for_streaming_parsers(tmp_path):
    import json

    good = write(tmp_path / "a.json", b'\xef\xbb\xbf[{"a": 1}]')
    with io.text_stream(good) as fh:
        assert json.load(fh) == [{"a": 1}]
    bad = write(tmp_path / "b.json", b'[{"a": 1},\n{"a": "\xff"}]')
    with pytest.raises(CorpusFormatError, match=r"b\.json:2: not UTF-8"), io.text_stream(bad) as fh:
        fh.read()
    binary = write(tmp_path / "c.json", b"[\x00]")
    with pytest.raises(CorpusFormatError, match=r"c\.json:1: binary data"), io.text_stream(binary):
        pass


def test_datasets_folder_rows_label_names_and_errors(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), "tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B"]))})
    ds = datasets.Dataset.from_dict({"tokens": [["a", "b"]], "tags": [[0, 1]]}, features=features)
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "dd"))
    rows, names = io.read_datasets_folder(tmp_path / "dd", "train")
    assert rows == [{"tokens": ["a", "b"], "tags": [0, 1]}] and names == {"tags": ["O", "B"]}
    with pytest.raises(CorpusFormatError, match="has no split 'test'"):
        io.read_datasets_folder(tmp_path / "dd", "test")
    with pytest.raises(CorpusFormatError, match="name a split"):
        io.read_datasets_folder(tmp_path / "dd")
    (tmp_path / "junk").mkdir()
    with pytest.raises(CorpusFormatError, match=r"junk: not a readable datasets folder"):
        io.read_datasets_folder(tmp_path / "junk")


def test_excerpt():
    assert io.excerpt("short") == "'short'"
    long = io.excerpt("z" * 1000, limit=10)
    assert long.startswith("'zzzzzzzzzz'") and "1,000 characters" in long
