"""The loaders on the real corpora (../shared/corpora; skipped when absent): counts, splits, gold scores 1.0."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows
from medtuned_core.testing import requires_corpora, shared_corpora
from medtuned_tasks_qa.loader import pubmedqa_splits, read_pqal
from medtuned_tasks_qa.tasks import SAMPLES, TASKS

pytestmark = requires_corpora()


@pytest.fixture(scope="module")
def root() -> Path:
    return shared_corpora()


def gold_scores(registry, rendered):
    rows = [{"task": r["task"], "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": r["output"]} for r in rendered]
    return score_rows(registry, rows)[rendered[0]["task"]]


def test_chatdoctor_reads_all_5452_records_into_disjoint_splits(registry, root):
    task = registry.get("chatdoctor")
    splits = {s: list(registry.load(task, root, s)) for s in task.splits}
    assert sum(len(rows) for rows in splits.values()) == 5452
    assert 0.04 < len(splits["test"]) / 5452 < 0.06 and 0.04 < len(splits["validation"]) / 5452 < 0.06
    inputs = {s: {e["input"].strip() for e in rows} for s, rows in splits.items()}
    assert not inputs["train"] & inputs["test"] and not inputs["train"] & inputs["validation"]
    assert len(list(registry.load(task, root, "train", {"validation_fraction": 0, "test_fraction": 0}))) == 5452


def test_chatdoctor_gold_rouge_is_one(registry, root):
    rendered = list(render_split(registry, registry.get("chatdoctor"), root, "test"))
    result = gold_scores(registry, rendered)
    assert result["score"] == 1.0 and result["unparsed"] == 0 and result["n"] == len(rendered)


def test_medqa_test_has_1273_questions_and_gold_scores_one(registry, root):
    rendered = list(render_split(registry, registry.get("medqa"), root, "test"))
    assert len(rendered) == 1273 and len({r["id"] for r in rendered}) == 1273
    assert Counter(r["output"][0] for r in rendered) == {"A": 353, "C": 346, "B": 309, "D": 265}
    result = gold_scores(registry, rendered)
    assert result["score"] == 1.0 and result["unparsed"] == 0 and result["gold_unparsed"] == 0


def test_medqa_predictions_in_other_styles_are_read(registry, root):
    rendered = list(render_split(registry, registry.get("medqa"), root, "test", limit=300))
    styles = [
        lambda r: f"OPTION {r['output'][0]} IS CORRECT.",
        lambda r: f"The answer is ({r['output'][0]}).",
        lambda r: r["output"].split(". ", 1)[1],  # the option text alone
    ]
    rows = [{"task": "medqa", "input": r["input"], "reference": r["output"], "prediction": styles[i % 3](r)} for i, r in enumerate(rendered)]
    result = score_rows(registry, rows)["medqa"]
    # The text alone can be ambiguous when one option's text contains another's; nothing else may fail.
    assert result["score"] > 0.97 and result["unparsed"] <= 3


def test_pubmedqa_has_1000_items_and_the_official_500_test(registry, root):
    task = registry.get("pubmedqa")
    splits = {s: list(registry.load(task, root, s)) for s in task.splits}
    assert {s: len(rows) for s, rows in splits.items()} == {"train": 450, "validation": 50, "test": 500}
    truth = json.loads((root / "PubMedQA" / "test_ground_truth.json").read_text())
    assert [e["id"] for e in splits["test"]] == list(truth)
    assert Counter(e["answer"] for e in splits["test"]) == {"yes": 276, "no": 169, "maybe": 55}
    pqal = read_pqal(root / "PubMedQA" / "ori_pqal.json")
    assert len(pqal) == 1000 and Counter(e["answer"] for e in pqal.values()) == {"yes": 552, "no": 338, "maybe": 110}


def test_pubmedqa_replay_reproduces_the_official_split(root):
    pqal = read_pqal(root / "PubMedQA" / "ori_pqal.json")
    truth = json.loads((root / "PubMedQA" / "test_ground_truth.json").read_text())
    decision = {p: e["answer"] for p, e in pqal.items()}
    replayed, official = pubmedqa_splits(list(pqal), decision, None, fold=0)
    assert official and set(replayed["test"]) == set(truth)
    with_file, official = pubmedqa_splits(list(pqal), decision, list(truth), fold=0)
    assert official and with_file["validation"] == replayed["validation"] and with_file["train"] == replayed["train"]
    folds = [set(pubmedqa_splits(list(pqal), decision, list(truth), fold=k)[0]["validation"]) for k in range(10)]
    assert [len(f) for f in folds] == [50] * 10 and len(set().union(*folds)) == 500


def test_pubmedqa_gold_scores_one_on_every_split(registry, root):
    task = registry.get("pubmedqa")
    for split in task.splits:
        result = gold_scores(registry, list(render_split(registry, task, root, split)))
        assert result["score"] == 1.0 and result["macro_f1"] == 1.0 and result["unparsed"] == 0


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _sentences(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    docs = [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else [json.loads(text)]
    return {s.strip() for doc in docs for string in _strings(doc) for s in _SENTENCE.split(string) if len(s.split()) >= 6}


def test_samples_and_templates_share_no_sentence_with_the_real_corpora(root):
    real = set()
    for path in sorted(root.rglob("*.json")) + sorted(root.rglob("*.jsonl")):
        real |= _sentences(path)
    ours = {s for path in sorted(SAMPLES.rglob("*.json*")) for s in _sentences(path)}
    ours |= {s.strip() for task in TASKS.values() for t in task.templates for s in _SENTENCE.split(t) if len(s.split()) >= 6}
    assert len(ours) > 300 and len(real) > 10000
    assert not ours & real, sorted(ours & real)[:5]
