"""Loaders on the shipped samples and on broken copies of them: counts, ids, options, and file/record errors."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from medtuned_core import CorpusFormatError, MedTunedError
from medtuned_core.corpus import MissingSplitError
from medtuned_tasks_qa.loader import chatdoctor_split_of, pubmedqa_splits, stratified_folds
from medtuned_tasks_qa.tasks import PMC_LLAMA_SOURCES, SAMPLES


def load(registry, name, root, split, **options):
    return list(registry.load(registry.get(name), root, split, options))


# -- ChatDoctor ------------------------------------------------------------------------------------


def test_chatdoctor_sample_splits_partition_the_file(registry):
    records = json.loads((SAMPLES / "ChatDoctor-GenMedGPT-5k" / "chatdoctor5k.json").read_text())
    splits = {s: load(registry, "chatdoctor", SAMPLES, s) for s in ("train", "validation", "test")}
    ids = [e["id"] for rows in splits.values() for e in rows]
    assert len(ids) == len(set(ids)) == len(records)
    assert splits["validation"] and splits["test"]
    first = splits["train"][0]
    assert set(first) == {"id", "input", "output", "file"} and first["file"] == "chatdoctor5k.json"
    # Same patient message, same split: the repeated message in the sample is not split across train and test.
    by_input = {}
    for split, rows in splits.items():
        for e in rows:
            by_input.setdefault(e["input"], set()).add(split)
    assert max(len(s) for s in by_input.values()) == 1
    assert any(n > 1 for n in Counter(r["input"] for r in records).values())


def test_chatdoctor_holdout_is_keyed_on_text_not_position():
    assert chatdoctor_split_of("I have a cough.", 0.05, 0.05) == chatdoctor_split_of("  I have a cough.\n", 0.05, 0.05)
    texts = [f"patient message number {i}" for i in range(4000)]
    counts = Counter(chatdoctor_split_of(t, 0.1, 0.2) for t in texts)
    assert 0.17 < counts["test"] / 4000 < 0.23 and 0.07 < counts["validation"] / 4000 < 0.13
    assert {chatdoctor_split_of(t, 0, 0) for t in texts} == {"train"}


def test_chatdoctor_no_holdout_puts_everything_in_train(registry):
    rows = load(registry, "chatdoctor", SAMPLES, "train", validation_fraction=0, test_fraction=0)
    assert len(rows) == len(json.loads((SAMPLES / "ChatDoctor-GenMedGPT-5k" / "chatdoctor5k.json").read_text()))
    with pytest.raises(MissingSplitError, match="test_fraction"):
        load(registry, "chatdoctor", SAMPLES, "test", test_fraction=0)


@pytest.mark.parametrize("bad", [1.5, -0.1, "x", True])
def test_chatdoctor_rejects_bad_fractions(registry, bad):
    with pytest.raises(MedTunedError, match="test_fraction"):
        load(registry, "chatdoctor", SAMPLES, "train", test_fraction=bad)


def test_chatdoctor_file_choice(registry, data_root, helpers):
    folder = data_root / "ChatDoctor-GenMedGPT-5k"
    helpers.json(
        folder / "iCliniq.json", [{"input": "Hi doctor, my knee hurts.", "answer_icliniq": "Rest it.", "answer_chatgpt": "x", "answer_chatdoctor": "y"}]
    )
    with pytest.raises(MedTunedError, match=r"several data files .*chatdoctor5k\.json, iCliniq\.json.*--option file="):
        load(registry, "chatdoctor", data_root, "train")
    rows = load(registry, "chatdoctor", data_root, "train", file="iCliniq.json", test_fraction=0, validation_fraction=0)
    # iCliniq has no `output`: the site doctors' answer is the reference.
    assert rows == [{"id": "iCliniq-1", "input": "Hi doctor, my knee hurts.", "output": "Rest it.", "file": "iCliniq.json"}]
    with pytest.raises(MissingSplitError, match="nope.json"):
        load(registry, "chatdoctor", data_root, "train", file="nope.json")


def test_chatdoctor_any_single_json_file_is_used(registry, tmp_path, helpers):
    helpers.json(tmp_path / "ChatDoctor-GenMedGPT-5k" / "HealthCareMagic-100k.json", [{"instruction": "x", "input": "a", "output": "b"}])
    rows = load(registry, "chatdoctor", tmp_path, "train", test_fraction=0, validation_fraction=0)
    assert [r["id"] for r in rows] == ["HealthCareMagic-100k-1"]


def test_chatdoctor_bad_records_name_file_and_record(registry, tmp_path, helpers):
    good = {"instruction": "x", "input": "a", "output": "b"}
    path = helpers.json(tmp_path / "ChatDoctor-GenMedGPT-5k" / "chatdoctor5k.json", [good, good, {"instruction": "x", "input": "a"}])
    with pytest.raises(CorpusFormatError, match=r"chatdoctor5k\.json, record 3: missing field 'output' \(line 12\)"):
        load(registry, "chatdoctor", tmp_path, "train")
    helpers.json(path, [good, {"instruction": "x", "input": 7, "output": "b"}])
    with pytest.raises(CorpusFormatError, match=r"record 2: field 'input' must be str, found int"):
        load(registry, "chatdoctor", tmp_path, "train")
    helpers.json(path, [good, ["not", "an", "object"]])
    with pytest.raises(CorpusFormatError, match=r"record 2: expected a ChatDoctor record \(a JSON object\), found list"):
        load(registry, "chatdoctor", tmp_path, "train")


def test_chatdoctor_jsonl_instead_of_array(registry, tmp_path, helpers):
    helpers.jsonl(tmp_path / "ChatDoctor-GenMedGPT-5k" / "chatdoctor5k.json", [{"instruction": "x", "input": "a", "output": "b"}] * 2)
    with pytest.raises(CorpusFormatError, match=r"chatdoctor5k\.json:1: expected one JSON array of records, found a JSON object \(JSON Lines"):
        load(registry, "chatdoctor", tmp_path, "train")


def test_chatdoctor_truncated_file(registry, data_root):
    path = data_root / "ChatDoctor-GenMedGPT-5k" / "chatdoctor5k.json"
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    n_complete = text[: len(text) // 2].count('"output"') - 1  # the cut falls inside a record after the last complete one
    with pytest.raises(CorpusFormatError, match=r"record \d+: the file ends inside record \d+: it looks truncated") as err:
        load(registry, "chatdoctor", data_root, "train")
    assert err.value.line in (n_complete, n_complete + 1)


# -- PMC-LLaMA -------------------------------------------------------------------------------------


def test_pmc_llama_sample_has_every_source(registry):
    rows = load(registry, "pmc-llama", SAMPLES, "train")
    assert Counter(r["source"] for r in rows) == {s: 10 for s in PMC_LLAMA_SOURCES}
    assert registry.get("pmc-llama").sources == PMC_LLAMA_SOURCES
    assert len({r["id"] for r in rows}) == len(rows)
    assert set(rows[0]) == {"id", "source", "sample_id", "instruction", "input", "output", "request"}


@pytest.mark.parametrize("sources", ["umls,umls_relation", ["umls", "umls_relation"], " umls_relation , umls "])
def test_pmc_llama_source_filter(registry, sources):
    rows = load(registry, "pmc-llama", SAMPLES, "train", sources=sources)
    assert Counter(r["source"] for r in rows) == {"umls": 10, "umls_relation": 10}


def test_pmc_llama_unknown_source_option(registry):
    with pytest.raises(MedTunedError, match=r"unknown PMC-LLaMA source\(s\) medqa; known: medqa_train, medmcqa"):
        load(registry, "pmc-llama", SAMPLES, "train", sources="medqa")


def test_pmc_llama_reads_jsonl_too(registry, tmp_path, helpers):
    rows = json.loads((SAMPLES / "PMC-LLaMA" / "release.json").read_text())
    helpers.jsonl(tmp_path / "PMC-LLaMA" / "release.jsonl", rows)
    assert load(registry, "pmc-llama", tmp_path, "train") == load(registry, "pmc-llama", SAMPLES, "train")


def test_pmc_llama_bad_rows(registry, tmp_path, helpers):
    row = {"instruction": "i", "input": "q", "output": "a", "source": "umls", "sample_id": 0}
    path = tmp_path / "PMC-LLaMA" / "release.jsonl"
    helpers.jsonl(path, [row, {**row, "sample_id": 1, "source": "medqa"}])
    with pytest.raises(CorpusFormatError, match=r"release\.jsonl, record 2: unknown source 'medqa'; expected one of medqa_train"):
        load(registry, "pmc-llama", tmp_path, "train")
    helpers.jsonl(path, [row, row])
    with pytest.raises(CorpusFormatError, match=r"record 2: duplicate \(source, sample_id\) 'umls-0', first at record 1"):
        load(registry, "pmc-llama", tmp_path, "train")
    helpers.jsonl(path, [row, {k: v for k, v in row.items() if k != "output"}])
    with pytest.raises(CorpusFormatError, match=r"record 2: missing field 'output' \(line 2\)"):
        load(registry, "pmc-llama", tmp_path, "train")
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, "sample_id": 1})[:30])
    with pytest.raises(CorpusFormatError, match=r"release\.jsonl:2: invalid JSON"):
        load(registry, "pmc-llama", tmp_path, "train")


def test_pmc_llama_rows_without_sample_id_use_the_record_number(registry, tmp_path, helpers):
    row = {"instruction": "i", "input": "q", "output": "a", "source": "liveqa"}
    helpers.json(tmp_path / "PMC-LLaMA" / "release.json", [row, row])
    assert [r["id"] for r in load(registry, "pmc-llama", tmp_path, "train")] == ["liveqa-1", "liveqa-2"]


# -- MedQA -----------------------------------------------------------------------------------------


def test_medqa_sample_splits(registry):
    counts = {s: len(load(registry, "medqa", SAMPLES, s)) for s in ("test", "train", "validation")}
    assert counts == {"test": 32, "train": 10, "validation": 8}
    first = load(registry, "medqa", SAMPLES, "test")[0]
    assert first["id"] == "0" and list(first["options"]) == ["A", "B", "C", "D"] and first["options"][first["answer_idx"]] == first["answer"]
    # dev.jsonl has no realidx (the original files' form): ids are line numbers.
    assert [e["id"] for e in load(registry, "medqa", SAMPLES, "validation")][:3] == ["1", "2", "3"]


def test_medqa_missing_split_is_a_missing_file(registry, tmp_path, helpers):
    helpers.jsonl(tmp_path / "MedQA-USMLE-4options" / "test.jsonl", [])
    with pytest.raises(MissingSplitError, match="train.jsonl, phrases_no_exclude_train.jsonl"):
        load(registry, "medqa", tmp_path, "train")


def test_medqa_original_file_names(registry, tmp_path, helpers):
    q = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer_idx": "B", "answer": "y"}
    helpers.jsonl(tmp_path / "MedQA-USMLE-4options" / "phrases_no_exclude_dev.jsonl", [q])
    assert load(registry, "medqa", tmp_path, "validation")[0]["answer"] == "y"


MEDQA_Q = {"question": "Which drug?", "answer": "y", "options": {"A": "x", "B": "y", "C": "z", "D": "w"}, "meta_info": "step1", "answer_idx": "B"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"answer_idx": "E"}, r"test\.jsonl:2: answer_idx 'E' is not among the options \(A, B, C, D\)"),
        ({"options": {"A": "x", "C": "z"}}, r":2: answer_idx 'B' is not among the options \(A, C\)"),
        ({"answer": "z"}, r":2: answer 'z' disagrees with option B 'y'"),
        ({"options": "x, y"}, r":2: field 'options' must be dict or list, found str"),
        ({"options": [1, 2]}, r":2: options must map single capital letters"),
        ({"options": {"a": "x", "b": "y"}}, r":2: options must map single capital letters"),
        ({"question": None}, r":2: field 'question' must be str, found NoneType"),
        ({"answer_idx": None}, r":2: field 'answer_idx' must be str"),
    ],
)
def test_medqa_bad_questions(registry, tmp_path, helpers, change, message):
    helpers.jsonl(tmp_path / "MedQA-USMLE-4options" / "test.jsonl", [MEDQA_Q, {**MEDQA_Q, **change}])
    with pytest.raises(CorpusFormatError, match=message):
        load(registry, "medqa", tmp_path, "test")


def test_medqa_missing_fields(registry, tmp_path, helpers):
    helpers.jsonl(tmp_path / "MedQA-USMLE-4options" / "test.jsonl", [MEDQA_Q, {k: v for k, v in MEDQA_Q.items() if k != "answer_idx"}])
    with pytest.raises(CorpusFormatError, match=r"test\.jsonl:2: missing field 'answer_idx'"):
        load(registry, "medqa", tmp_path, "test")


@pytest.mark.parametrize("indent", [None, 2])
def test_medqa_json_array_instead_of_jsonl(registry, tmp_path, helpers, indent):
    helpers.json(tmp_path / "MedQA-USMLE-4options" / "test.jsonl", [MEDQA_Q, MEDQA_Q], indent=indent)
    with pytest.raises(CorpusFormatError, match=r"test\.jsonl:1: expected JSONL \(one object per line\), found a JSON array"):
        load(registry, "medqa", tmp_path, "test")


def test_medqa_truncated_last_line(registry, tmp_path):
    path = tmp_path / "MedQA-USMLE-4options" / "test.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(MEDQA_Q) + "\n" + json.dumps(MEDQA_Q)[:-20])
    with pytest.raises(CorpusFormatError, match=r"test\.jsonl:2: invalid JSON"):
        load(registry, "medqa", tmp_path, "test")


def test_medqa_duplicate_ids(registry, tmp_path, helpers):
    helpers.jsonl(tmp_path / "MedQA-USMLE-4options" / "test.jsonl", [{**MEDQA_Q, "realidx": 4}, {**MEDQA_Q, "realidx": 4}])
    with pytest.raises(CorpusFormatError, match=r"test\.jsonl:2: duplicate realidx '4' \(first at line 1\)"):
        load(registry, "medqa", tmp_path, "test")


# -- PubMedQA --------------------------------------------------------------------------------------


def test_pubmedqa_sample_splits(registry):
    pqal = json.loads((SAMPLES / "PubMedQA" / "ori_pqal.json").read_text())
    truth = json.loads((SAMPLES / "PubMedQA" / "test_ground_truth.json").read_text())
    splits = {s: load(registry, "pubmedqa", SAMPLES, s) for s in ("train", "validation", "test")}
    assert [e["id"] for e in splits["test"]] == list(truth)
    assert {e["id"] for e in splits["train"] + splits["validation"]} == set(pqal) - set(truth)
    assert not {e["id"] for e in splits["train"]} & {e["id"] for e in splits["validation"]}
    example = splits["test"][0]
    assert example["answer"] == truth[example["id"]] == pqal[example["id"]]["final_decision"]
    assert example["contexts"] == pqal[example["id"]]["CONTEXTS"] and example["context_labels"] == pqal[example["id"]]["LABELS"]


def test_pubmedqa_folds_rotate_validation(registry):
    vals = [{e["id"] for e in load(registry, "pubmedqa", SAMPLES, "validation", fold=k)} for k in range(10)]
    trains = [{e["id"] for e in load(registry, "pubmedqa", SAMPLES, "train", fold=k)} for k in range(10)]
    everything = set().union(*vals)
    assert sum(len(v) for v in vals) == len(everything)  # the ten validation folds are disjoint
    for val, train in zip(vals, trains, strict=True):
        assert not val & train and val | train == everything


@pytest.mark.parametrize("fold", [10, -1, "1", 1.0])
def test_pubmedqa_bad_fold(registry, fold):
    with pytest.raises(MedTunedError, match="option fold must be an integer 0-9"):
        load(registry, "pubmedqa", SAMPLES, "train", fold=fold)


def test_stratified_folds_keep_label_shares():
    labels = ["yes"] * 300 + ["no"] * 150 + ["maybe"] * 50
    random.Random(1).shuffle(labels)
    decision = {str(i): label for i, label in enumerate(labels)}
    folds = stratified_folds(list(decision), decision, 10, random.Random(0))
    assert sorted(p for f in folds for p in f) == sorted(decision)
    assert all(Counter(decision[p] for p in f) == {"yes": 30, "no": 15, "maybe": 5} for f in folds)


def test_stratified_folds_rebalance_the_short_last_fold():
    # 276/169/55 (the official CV half): chunks of 28/17/6 leave the last fold with 24+16+1 = 41 until one
    # item of each other fold moves to it — the official procedure's [51]*9 + [41] -> 50 each.
    labels = ["yes"] * 276 + ["no"] * 169 + ["maybe"] * 55
    decision = {str(i): label for i, label in enumerate(labels)}
    folds = stratified_folds(list(decision), decision, 10, random.Random(0))
    assert [len(f) for f in folds] == [50] * 10


def test_pubmedqa_split_without_the_ground_truth_file_replays_the_official_draw(registry, data_root):
    truth = json.loads((data_root / "PubMedQA" / "test_ground_truth.json").read_text())
    (data_root / "PubMedQA" / "test_ground_truth.json").unlink()
    assert {e["id"] for e in load(registry, "pubmedqa", data_root, "test")} == set(truth)


def test_pubmedqa_split_with_a_foreign_test_list_still_uses_it():
    order = [str(i) for i in range(40)]
    decision = {p: ["yes", "no", "maybe", "yes"][i % 4] for i, p in enumerate(order)}
    test = order[:20]  # not what the seeded draw gives
    splits, official = pubmedqa_splits(order, decision, test, fold=0)
    assert not official and splits["test"] == test
    assert sorted(splits["train"] + splits["validation"], key=int) == order[20:]
    _, official = pubmedqa_splits(order, decision, None, fold=0)
    assert official


def test_pubmedqa_ground_truth_must_agree(registry, data_root, helpers):
    folder = data_root / "PubMedQA"
    truth = json.loads((folder / "test_ground_truth.json").read_text())
    pmid = next(iter(truth))
    other = "no" if truth[pmid] != "no" else "yes"
    helpers.json(folder / "test_ground_truth.json", {**truth, pmid: other}, indent=4)
    with pytest.raises(CorpusFormatError, match=rf"test_ground_truth\.json, record 1: PMID {pmid}: '{other}' disagrees with final_decision"):
        load(registry, "pubmedqa", data_root, "test")
    helpers.json(folder / "test_ground_truth.json", {"1": "yes"})
    with pytest.raises(CorpusFormatError, match=r"record 1: PMID 1 is not in ori_pqal\.json"):
        load(registry, "pubmedqa", data_root, "test")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"final_decision": "probably"}, r"record 2: PMID (\d+): final_decision 'probably' is not yes, no or maybe \(line \d+\)"),
        ({"CONTEXTS": []}, r"record 2: PMID \d+: CONTEXTS must be a non-empty list of strings"),
        ({"QUESTION": None}, r"record 2: field 'QUESTION' must be str"),
    ],
)
def test_pubmedqa_bad_entries(registry, data_root, helpers, change, message):
    path = data_root / "PubMedQA" / "ori_pqal.json"
    pqal = json.loads(path.read_text())
    second = list(pqal)[1]
    pqal[second] = {**pqal[second], **change}
    helpers.json(path, pqal, indent=4)
    with pytest.raises(CorpusFormatError, match=message):
        load(registry, "pubmedqa", data_root, "train")


def test_pubmedqa_missing_field_and_shape_errors(registry, data_root, helpers):
    path = data_root / "PubMedQA" / "ori_pqal.json"
    pqal = json.loads(path.read_text())
    first = next(iter(pqal))
    del pqal[first]["final_decision"]
    helpers.json(path, pqal, indent=4)
    with pytest.raises(CorpusFormatError, match=r"ori_pqal\.json, record 1: missing field 'final_decision' \(line 2\)"):
        load(registry, "pubmedqa", data_root, "test")
    helpers.json(path, list(pqal.values()))
    with pytest.raises(CorpusFormatError, match=r"ori_pqal\.json:1: expected one JSON object, found a JSON array"):
        load(registry, "pubmedqa", data_root, "test")
    helpers.jsonl(path, [{"pmid": k, **v} for k, v in pqal.items()])
    with pytest.raises(CorpusFormatError, match=r"record 1: expected the entry of PMID pmid \(a JSON object\), found str"):
        load(registry, "pubmedqa", data_root, "test")


def test_pubmedqa_truncated(registry, data_root):
    path = data_root / "PubMedQA" / "ori_pqal.json"
    text = path.read_text()
    path.write_text(text[: int(len(text) * 0.7)])
    with pytest.raises(CorpusFormatError, match=r"ori_pqal\.json, record \d+: the file ends inside record \d+ \('\d+'\): it looks truncated"):
        load(registry, "pubmedqa", data_root, "test")


def test_pubmedqa_needs_ori_pqal(registry, tmp_path, helpers):
    helpers.json(tmp_path / "PubMedQA" / "test_ground_truth.json", {})
    with pytest.raises(MissingSplitError, match="ori_pqal.json"):
        load(registry, "pubmedqa", tmp_path, "test")


@pytest.mark.parametrize("content", ["", "[]", "\n\n"])
def test_an_empty_release_is_an_error_naming_it(registry, tmp_path, content):
    path = tmp_path / "PMC-LLaMA" / "release.json"
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"release\.json: .*(empty|no records)"):
        load(registry, "pmc-llama", tmp_path, "train")


def test_a_folder_where_test_ground_truth_should_be(registry, data_root):
    truth = data_root / "PubMedQA" / "test_ground_truth.json"
    truth.unlink()
    truth.mkdir()
    with pytest.raises(CorpusFormatError, match=r"test_ground_truth\.json: is a folder, expected a file"):
        load(registry, "pubmedqa", data_root, "test")
