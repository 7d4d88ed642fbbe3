"""The streaming JSON readers: same values as json.load at any chunk size, and clear errors on bad files."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtuned_core import CorpusFormatError, jsonstream
from medtuned_core.jsonstream import iter_json_array, iter_json_object, iter_json_records

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
_records = st.lists(st.dictionaries(st.text(max_size=8), _values, max_size=5), max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=_records, chunk=st.integers(1, 40), indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_array_matches_json_load_at_any_chunk_size(tmp_path_factory, records, chunk, indent, ascii_only):
    path = tmp_path_factory.mktemp("a") / "a.json"
    path.write_text(json.dumps(records, indent=indent, ensure_ascii=ascii_only), encoding="utf-8")
    original, jsonstream._CHUNK = jsonstream._CHUNK, chunk
    try:
        got = [r.value for r in iter_json_array(path)]
    finally:
        jsonstream._CHUNK = original
    assert got == records


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(obj=st.dictionaries(st.text(max_size=8), _values, max_size=8), chunk=st.integers(1, 40))
def test_object_matches_json_load_at_any_chunk_size(tmp_path_factory, obj, chunk):
    path = tmp_path_factory.mktemp("o") / "o.json"
    path.write_text(json.dumps(obj, indent=4), encoding="utf-8")
    original, jsonstream._CHUNK = jsonstream._CHUNK, chunk
    try:
        got = {r.key: r.value for r in iter_json_object(path)}
    finally:
        jsonstream._CHUNK = original
    assert got == obj


def test_record_numbers_and_lines(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[\n  {"a": 1},\n\n  {"a": 2,\n   "b": 3},\n  {"a": 4}\n]\n')
    assert [(r.number, r.line) for r in iter_json_array(path)] == [(1, 2), (2, 4), (3, 6)]


def test_object_members_carry_the_line_of_their_key(tmp_path):
    path = tmp_path / "o.json"
    path.write_text('{\n  "p1": {"a": 1},\n\n  "p2": {"a": 2,\n   "b": 3},\n  "p3": 4\n}\n')
    assert [(r.number, r.line, r.key) for r in iter_json_object(path)] == [(1, 2, "p1"), (2, 4, "p2"), (3, 6, "p3")]


def test_numbers_split_across_chunks_are_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    path.write_text("[12345678, 2.5e10, true]")
    monkeypatch.setattr(jsonstream, "_CHUNK", 3)
    assert [r.value for r in iter_json_array(path)] == [12345678, 2.5e10, True]


def test_every_truncation_is_a_clear_error(tmp_path, monkeypatch):
    records = [{"instruction": "x", "input": 'caf\u00e9 \\ "q"', "output": [1, 2.5, None]} for _ in range(3)]
    text = json.dumps(records, indent=2)
    monkeypatch.setattr(jsonstream, "_CHUNK", 16)
    path = tmp_path / "a.json"
    for cut in range(1, len(text.rstrip())):
        path.write_text(text[:cut])
        with pytest.raises(CorpusFormatError) as err:
            list(iter_json_array(path))
        assert "a.json" in str(err.value) and ("truncated" in str(err.value) or "invalid JSON" in str(err.value)), (cut, str(err.value))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"a\.json:1: the file is empty; expected one JSON array"),
        ('{"a": 1}\n{"a": 2}\n', r"a\.json:1: expected one JSON array of records, found a JSON object \(JSON Lines"),
        ('"text"', r"expected one JSON array of records, found '\"'"),
        ('[{"a": 1},]', r"a\.json, record 1: a trailing comma after the last record \(line 1\)"),
        ('[{"a": 1} {"a": 2}]', r"record 1: expected ',' or '\]' after this record, found '\{'"),
        ('[{"a": 1}]\n[{"a": 2}]', r"record 1: unexpected content after the closing of the top-level array \(several JSON documents"),
        ('[{"a": 1},\n {"a": tru}]', r"a\.json, record 2: invalid JSON in record 2: Expecting value \(line 2\)"),
        ('[{"a": 1},\n {"a": "x', r"record 2: the file ends inside record 2: it looks truncated"),
        ('[{"a": 1}', r"record 1: the file ends after this record without the closing '\]': it looks truncated"),
    ],
)
def test_array_errors(tmp_path, text, message):
    path = tmp_path / "a.json"
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=message):
        list(iter_json_array(path))


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1, 2]", r"o\.json:1: expected one JSON object, found a JSON array"),
        ('{"1": {"a": 1}, 5: 2}', r"o\.json, record 2: expected a quoted key"),
        ('{"1": {"a": 1}, "2" {"a": 2}}', r"record 2: expected ':' after the key '2'"),
        ('{"1": {"a": 1},\n "2": {"a"', r"record 2: the file ends inside record 2 \('2'\): it looks truncated \(.*\) \(line 2\)"),
        ('{"1": {"a": 1}', r"record 1: the file ends after this record without the closing '\}'"),
        ('{"1": 1}{"2": 2}', r"unexpected content after the closing of the top-level object"),
    ],
)
def test_object_errors(tmp_path, text, message):
    path = tmp_path / "o.json"
    path.write_text(text)
    with pytest.raises(CorpusFormatError, match=message):
        list(iter_json_object(path))


def test_records_accept_array_or_jsonl_and_a_bom(tmp_path):
    rows = [{"a": 1}, {"a": 2}]
    array, lines = tmp_path / "a.json", tmp_path / "b.jsonl"
    array.write_text("\ufeff" + json.dumps(rows), encoding="utf-8")
    lines.write_text("".join(json.dumps(r) + "\n\n" for r in rows))
    assert [r.value for r in iter_json_records(array)] == rows
    assert [(r.number, r.line, r.value) for r in iter_json_records(lines)] == [(1, 1, rows[0]), (2, 3, rows[1])]
