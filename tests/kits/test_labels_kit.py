"""The labels and text kits: metrics against scikit-learn / rouge-score, per-unit statistics that combine to the
score exactly (every metric), declarations checked key by key, and the record readers' one-line errors."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from medtuned_core import CorpusFormatError, Parsed
from medtuned_core.kits import DeclarationError
from medtuned_core.kits.declare import DeclaredTasks, declare
from medtuned_core.kits.labels import KIT, label_set_units, label_units, score_label_sets, score_labels
from medtuned_core.kits.text import KIT as TEXT_KIT
from medtuned_core.plugins import make_registry

LABELS = ("TrAP", "TeRP", "PIP", "No Relations")
SETS = ("a", "b", "c", "none")


def _labels(rng: random.Random, n: int) -> tuple[list[Parsed], list[Parsed], list[str]]:
    golds = [Parsed(rng.choice(LABELS)) if rng.random() > 0.03 else Parsed(None, ok=False) for _ in range(n)]
    preds = [Parsed(rng.choice(LABELS)) if rng.random() > 0.15 else Parsed(None, ok=False) for _ in range(n)]
    truth = [g.value if g.ok else "<gold?>" for g in golds]
    guess = [p.value if p.ok else "<?>" for p in preds]
    return golds, preds, [truth, guess]


def _combined(units) -> float:
    return float(units.combine(np.asarray(units.stats, dtype=float).sum(axis=0)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("metric", "keywords", "reference"),
    [
        ("accuracy", {}, lambda t, g: accuracy_score(t, g)),
        ("f1", {"positive": "TrAP"}, lambda t, g: f1_score(t, g, labels=["TrAP"], average="micro", zero_division=0.0)),
        ("micro_f1", {"exclude": ("No Relations",)}, lambda t, g: f1_score(t, g, labels=list(LABELS[:3]), average="micro", zero_division=0.0)),
        ("macro_f1", {}, lambda t, g: f1_score(t, g, labels=list(LABELS), average="macro", zero_division=0.0)),
        ("macro_f1", {"macro": "present"}, lambda t, g: f1_score(t, g, labels=[x for x in LABELS if x in t or x in g], average="macro", zero_division=0.0)),
    ],
)
def test_single_label_metrics_equal_scikit_learn_and_their_units_combine_exactly(seed, metric, keywords, reference):
    rng = random.Random(seed)
    n = rng.choice([1, 7, 60, 400])
    golds, preds, (truth, guess) = _labels(rng, n)
    rows = [{"id": f"r{i}"} for i in range(n)]
    out = score_labels(golds, preds, LABELS, metric=metric, **keywords)
    assert out["score"] == pytest.approx(reference(truth, guess), abs=1e-15)
    units = label_units(golds, preds, rows, LABELS, metric=metric, **keywords)
    assert _combined(units) == out["score"] and units.ids == [r["id"] for r in rows] and units.unit == "example"
    if metric == "accuracy":
        assert units.correct == [t == g for t, g in zip(truth, guess, strict=True)]


def test_the_unparsed_convention_in_details():
    golds = [Parsed("TrAP"), Parsed("PIP"), Parsed(None, ok=False)]
    preds = [Parsed(None, ok=False), Parsed("PIP"), Parsed(None, ok=False)]
    out = score_labels(golds, preds, LABELS, metric="micro_f1", exclude=("No Relations",))
    assert out["accuracy"] == pytest.approx(1 / 3) and out["correct"] == 1  # an unreadable gold never matches an unreadable answer
    assert out["confusion"]["predicted"][-1] == "<unparsed>" and out["confusion"]["matrix"][0] == [0, 0, 0, 0, 1]
    assert out["pred_counts"]["TrAP"] == 0 and out["precision"] == 1.0 and out["recall"] == 0.5  # a miss, never a false positive
    assert score_labels([], [], LABELS)["score"] == 0.0
    with pytest.raises(ValueError, match="golds"):
        score_labels(golds, preds[:2], LABELS)


def _sets(rng: random.Random, n: int) -> tuple[list[Parsed], list[Parsed]]:
    def one(p_unparsed: float) -> Parsed:
        if rng.random() < p_unparsed:
            return Parsed(None, ok=False)
        chosen = sorted(rng.sample(SETS[:3], rng.randint(0, 2)))
        return Parsed(chosen or (["none"] if rng.random() < 0.7 else []))

    return [one(0.02) for _ in range(n)], [one(0.1) for _ in range(n)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("metric", ["document_f1", "micro_f1"])
def test_label_set_units_combine_to_the_score_exactly(seed, metric):
    rng = random.Random(seed)
    n = rng.choice([1, 9, 80, 500])
    golds, preds = _sets(rng, n)
    rows = [{"id": f"{rng.randint(1, max(1, n // 4))}_{i}"} for i in range(n)]
    document_of = lambda example_id: example_id.split("_")[0]  # noqa: E731
    out = score_label_sets(golds, preds, rows, SETS, metric=metric, none="none", document_of=document_of)
    units = label_set_units(golds, preds, rows, metric=metric, none="none", document_of=document_of)
    assert _combined(units) == out["score"]
    assert units.unit == ("document" if metric == "document_f1" else "example")
    assert len(units.ids) == (out["documents"] if metric == "document_f1" else n)


def _spec(kit: str = "labels", **settings):
    base = {"name": "t", "family": "cls", "description": "d", "templates": ("Answer.",), "data_folder": "T"}
    return declare(kit=kit, **{**base, **settings})


@pytest.mark.parametrize(
    ("settings", "key", "message"),
    [
        ({"values": ["x", "y"], "alias": {}}, "alias", "did you mean 'aliases'"),
        ({"values": ["x", "y"], "shape": "tree"}, "shape", "must be one of label, set, choice"),
        ({}, "values", "name the labels"),
        ({"values": ["x", "y"], "metric": "document_f1"}, "metric", "scores a label with one of"),
        ({"values": ["x", "y"], "metric": "f1"}, "positive", "metric f1 needs positive"),
        ({"values": ["x", "y"], "exclude": ["z"]}, "exclude", "must list outputs"),
        ({"values": ["x", "y"], "aliases": {"z": ["zed"]}}, "aliases", "unknown label"),
        ({"values": ["x"], "shape": "set", "metric": "document_f1", "document_id": "(.+)_\\d+"}, "document_id", "group named document"),
        ({"values": ["x"], "shape": "choice"}, "values", "reads its options from each example"),
        ({"values": ["x", "y"], "rule": "last"}, "rule", "first, statement"),
        ({"values": ["x", "y"], "input": "{text"}, "input", "format string"),
        ({"values": ["x", "y"], "reader": "tsv", "header": False}, "columns", "columns named"),
        ({"values": ["x", "y"], "reader": "python"}, "function", "package.module:function"),
    ],
)
def test_declaration_errors_name_the_key(settings, key, message):
    with pytest.raises(DeclarationError, match=message) as err:
        _spec(**settings)
    assert err.value.key == key


def test_text_kit_declaration_errors():
    with pytest.raises(DeclarationError, match="rougeL_f1 or exact_match") as err:
        _spec("text", metric="accuracy")
    assert err.value.key == "metric"
    with pytest.raises(DeclarationError, match="group holding the option letter"):
        _spec("text", option_pattern="OPTION [A-D]")


def _load(spec, root, split="test"):
    registry = make_registry([DeclaredTasks([spec])], autoload=False)
    return list(registry.load(registry.get(spec.name), root, split))


def _write(root, name: str, text: str | bytes):
    path = root / "T" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_table_and_json_readers(tmp_path):
    _write(tmp_path, "test.tsv", "id\ttext\tlabel\nq1\tone\tx\nq2\ttwo\ty\n")
    assert [(e["id"], e["label"]) for e in _load(_spec(values=["x", "y"], reader="tsv"), tmp_path)] == [("q1", "x"), ("q2", "y")]
    _write(tmp_path, "test.csv", 'text,label\n"a, quoted\nline",x\nplain,y\n')
    rows = _load(_spec(values=["x", "y"], reader="csv"), tmp_path)
    assert [e["id"] for e in rows] == ["2", "4"] and rows[0]["text"] == "a, quoted\nline"  # no id column: the line a record starts on
    _write(tmp_path, "bare.tsv", "one\tx\ntwo\ty\n")
    spec = _spec(values=["x", "y"], reader="tsv", files=("bare.tsv",), columns=["text", "label"])
    assert [e["text"] for e in _load(spec, tmp_path)] == ["one", "two"]
    _write(tmp_path, "test.json", json.dumps([{"text": "one", "label": "x"}, {"text": "two", "label": "y"}]))
    assert [e["id"] for e in _load(_spec(values=["x", "y"], reader="json"), tmp_path)] == ["1", "2"]
    _write(tmp_path, "test.json", json.dumps({"k1": {"text": "one", "label": "x"}}))
    assert [e["id"] for e in _load(_spec(values=["x", "y"], reader="json"), tmp_path)] == ["k1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no records"),
        ('{"id": "1", "text": "a", "label": "x"}\n{"id": "1", "text": "b", "label": "y"}\n', r":2: duplicate id '1' \(first at line 1\)"),
        ('{"id": "1", "text": "a", "label": "maybe"}\n', r":1: unknown label 'maybe'; expected one of x, y"),
        ('{"id": "1", "label": "x"}\n', r":1: missing field 'text'"),
        ('{"id": "1", "text": "  ", "label": "x"}\n', r":1: field 'text' is empty"),
        (b'{"id": "1", "text": "caf\xe9", "label": "x"}\n', r":1: not UTF-8"),
        (b'{"id": "1"}\x00\n', r"binary data"),
        ('[{"id": "1", "text": "a", "label": "x"}]\n', "found a JSON array"),
    ],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path, content, message):
    path = _write(tmp_path, "test.jsonl", content)
    with pytest.raises(CorpusFormatError, match=message) as err:
        _load(_spec(values=["x", "y"]), tmp_path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_folder_where_the_file_should_be(tmp_path):
    (tmp_path / "T" / "test.jsonl").mkdir(parents=True)
    with pytest.raises(CorpusFormatError, match="is a folder, expected a file"):
        _load(_spec(values=["x", "y"]), tmp_path)


def test_python_reader_errors_name_the_function(tmp_path):
    (tmp_path / "T").mkdir()
    with pytest.raises(DeclarationError, match="cannot load the reader function 'no_such_module:load'"):
        _load(_spec(values=["x", "y"], reader="python", function="no_such_module:load"), tmp_path)


def test_text_kit_scores_like_rouge_score_and_its_units_combine_exactly():
    from rouge_score import rouge_scorer

    rng = random.Random(3)
    words = "rest fluids fever cough rash pain headache tablets daily twice review".split()
    refs = [" ".join(rng.choices(words, k=rng.randint(3, 12))) for _ in range(60)]
    hyps = [" ".join(rng.choices(words, k=rng.randint(1, 12))) if i % 9 else "" for i in range(60)]
    for metric in ("rougeL_f1", "exact_match"):
        spec = _spec("text", metric=metric)
        golds = [TEXT_KIT.parse(spec, r, None, None) for r in refs]
        preds = [TEXT_KIT.parse(spec, h, None, r) for h, r in zip(hyps, refs, strict=True)]
        rows = [{"id": str(i)} for i in range(60)]
        out = TEXT_KIT.score(spec, golds, preds, rows)
        assert _combined(TEXT_KIT.units(spec, golds, preds, rows)) == out["score"]
        if metric == "rougeL_f1":
            scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
            expected = sum(scorer.score(r, h)["rougeL"].fmeasure if h else 0.0 for r, h in zip(refs, hyps, strict=True)) / 60
            assert out["score"] == pytest.approx(expected, abs=1e-12) and "weak proxy" in out["note"]


def test_choice_shape_round_trip():
    spec = _spec(shape="choice")
    example = {"id": "1", "question": " Which? ", "options": {"A": "one", "B": "two\nlines"}, "answer": "B"}
    body = KIT.render(spec, example, "")
    assert body == {"input": "Which?\n\nA. one\nB. two lines", "output": "B. two lines", "choices": ["A. one", "B. two lines"]}
    assert KIT.parse(spec, "The answer is: B", body["input"], body["output"]).value == "B"
    assert KIT.structure(spec, example) == "B"
