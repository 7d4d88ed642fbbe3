"""`build_mix` end to end with in-process plugins: outputs, determinism, missing sources, atomicity, leakage."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from build_helpers import MiniPlugin, mini_registry, write_corpora, write_spec

from medtuned_core.build import MissingSourcesError, SpecError, build_mix, load_spec
from medtuned_core.build.report import Composition, LengthMeasure, load_measure, percentile_of
from medtuned_core.build.writer import save_dataset
from medtuned_core.errors import MedTunedError
from medtuned_core.plugins import HookError
from medtuned_core.render import alpaca

MIX = """
name = "mini"
description = "two tasks, one with sources"
seed = 5

[[entries]]
task = "mini-ner"

[[entries]]
task = "mini-qa"
sources = { alpha = 12, beta = 0.5, gamma = 40 }

[[entries]]
task = "mini-ner"
split = "validation"
target = "validation"

[[eval]]
task = "mini-ner"
split = "test"

[[eval]]
task = "mini-qa"
split = "test"
"""

OUTPUT_KEYS = ["instruction", "input", "output", "task", "template_id", "id", "messages"]


@pytest.fixture
def data(tmp_path) -> Path:
    return write_corpora(tmp_path / "data", shared_with_train=4)


@pytest.fixture
def spec(tmp_path):
    return load_spec(write_spec(tmp_path / "mix.toml", MIX))


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_build_writes_every_output(tmp_path, data, spec):
    out = tmp_path / "out"
    result = build_mix(spec, data, out, registry=mini_registry())
    assert sorted(p.name for p in out.iterdir()) == ["composition.png", "dataset", "manifest.json", "report.md", "run.json", "train.jsonl", "validation.jsonl"]
    assert leftovers(tmp_path) == []
    assert out.stat().st_mode & 0o777 == (tmp_path / "data").stat().st_mode & 0o777  # an ordinary folder, not mkdtemp's 0700

    train = read_rows(out / "train.jsonl")
    assert all(list(r) == OUTPUT_KEYS for r in train)  # decoding hints (choices, tagging) dropped
    counts = Counter(r["task"] for r in train)
    assert counts == {"mini-ner": 36, "mini-qa": 12 + 10 + 5}  # 40 NER minus 4 leaked; per-source quotas
    assert Counter(r["task"] for r in read_rows(out / "validation.jsonl")) == {"mini-ner": 10}
    # Shuffled: the two tasks are interleaved, not concatenated.
    first_half = {r["task"] for r in train[: len(train) // 2]}
    assert first_half == {"mini-ner", "mini-qa"}

    import datasets

    saved = datasets.load_dataset(str(out / "dataset"), cache_dir=str(tmp_path / "hf-cache"))  # parquet shards + card
    assert set(saved) == {"train", "validation"} and saved["train"].column_names == OUTPUT_KEYS
    assert saved["train"].num_rows == len(train) and saved["train"][0] == train[0]
    assert sorted(p.name for p in (out / "dataset").iterdir()) == ["README.md", "data"]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["seed"] == 5 and manifest["spec"]["name"] == "mini" and manifest["spec_origin"] == "mix.toml"
    assert manifest["counts"] == {"train": {"mini-ner": 36, "mini-qa": 27}, "validation": {"mini-ner": 10}}
    assert manifest["families"]["train"] == {"ner": 36, "qa": 27}
    assert set(manifest["inputs"]) == {"mini-ner", "mini-qa"}
    assert set(manifest["inputs"]["mini-qa"]["files"]) == {"train.jsonl", "test.jsonl"}
    assert all(len(h) == 64 for h in manifest["inputs"]["mini-ner"]["files"].values())
    assert "medtuned-core" in manifest["packages"] and "datasets" in manifest["packages"]
    qa = manifest["entries"][1]
    assert qa["available"] == 55 and qa["taken"] == 27
    assert qa["sources"] == {
        "alpha": {"requested": 12, "available": 30, "taken": 12},
        "beta": {"requested": 0.5, "available": 20, "taken": 10},
        "gamma": {"requested": 40, "available": 5, "taken": 5},
    }
    assert qa["shortfalls"] == [{"source": "gamma", "requested": 40, "available": 5}]
    assert manifest["outputs"]["train.jsonl"]["rows"] == 63
    assert str(tmp_path) not in (out / "manifest.json").read_text()  # no paths of this machine

    report = (out / "report.md").read_text()
    assert "| mini-qa | qa | 27 | 42.9% |" in report and "| mini-qa/train | gamma | 40 | 5 |" in report
    assert (out / "composition.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "run.json").read_text())["seconds"] >= 0


def test_same_inputs_and_seed_give_byte_identical_files(tmp_path, data, spec):
    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(data, moved)  # the data root's location must not matter
    build_mix(spec, data, tmp_path / "a", registry=mini_registry())
    build_mix(spec, moved, tmp_path / "b", registry=mini_registry(), max_shard_bytes=300)
    dataset = sorted(str(p.relative_to(tmp_path / "a")) for p in (tmp_path / "a" / "dataset").rglob("*") if p.is_file())
    assert dataset == ["dataset/README.md", "dataset/data/train-00000-of-00001.parquet", "dataset/data/validation-00000-of-00001.parquet"]
    for name in ("train.jsonl", "validation.jsonl", "manifest.json", "report.md", *dataset):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

    build_mix(spec, data, tmp_path / "c", registry=mini_registry(), seed=6, write_dataset=False)
    a, c = read_rows(tmp_path / "a" / "train.jsonl"), read_rows(tmp_path / "c" / "train.jsonl")
    assert [r["id"] for r in a] != [r["id"] for r in c]
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["seed"] == 6


def test_leaked_rows_are_dropped_and_reported(tmp_path, data, spec):
    result = build_mix(spec, data, tmp_path / "out", registry=mini_registry(), write_dataset=False)
    test_inputs = {" ".join(line.split("\t")[0].split()) for line in (data / "MiniNER" / "test.tsv").read_text().splitlines()}
    train = read_rows(tmp_path / "out" / "train.jsonl")
    assert not {r["input"] for r in train} & test_inputs
    leakage = result.manifest["leakage"]
    assert leakage["dropped"] == [{"train": "mini-ner/train", "eval": "mini-ner/test", "rows": 4}]
    assert leakage["checked"] == [{"split": "mini-ner/test", "inputs": 12}, {"split": "mini-qa/test", "inputs": 4}]
    assert result.manifest["entries"][0]["dropped_leaking"] == 4
    assert "4 training rows repeated an evaluation input" in (tmp_path / "out" / "report.md").read_text()


MISSING_MIX = """
[[entries]]
task = "mini-ner"

[[entries]]
task = "mini-vault"

[[entries]]
task = "mini-ghost"

[[eval]]
task = "mini-qa"
split = "test"

[[eval]]
task = "mini-vault"
split = "test"
"""


def test_missing_sources_stop_the_build_naming_each(tmp_path, data):
    (data / "MiniQA" / "test.jsonl").unlink()
    spec = load_spec(write_spec(tmp_path / "m.toml", MISSING_MIX))
    with pytest.raises(MissingSourcesError) as caught:
        build_mix(spec, data, tmp_path / "out", registry=mini_registry())
    message = str(caught.value)
    assert message.startswith("3 source(s) missing")
    assert f"mini-vault (train, eval test) [credentialed]: task 'mini-vault': data not found at {data / 'Vault'}" in message
    assert message.count("Sign the data use agreement") == 1  # one line per missing folder, its how-to once
    assert "no installed plugin provides task 'mini-ghost'" in message and "m.toml:8" in message
    assert "mini-qa (eval test)" in message and "test.jsonl" in message
    assert "--allow-missing" in message
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_allow_missing_builds_without_them_and_records_them(tmp_path, data):
    (data / "MiniQA" / "test.jsonl").unlink()
    spec = load_spec(write_spec(tmp_path / "m.toml", MISSING_MIX))
    result = build_mix(spec, data, tmp_path / "out", registry=mini_registry(), allow_missing=True, write_dataset=False)
    missing = result.manifest["missing"]
    assert [(m["task"], m["used_as"], m["reason"]) for m in missing] == [
        ("mini-ghost", "train", "no installed plugin provides this task"),
        ("mini-vault", "train", "folder not found"),
        ("mini-vault", "eval", "folder not found"),
        ("mini-qa", "eval", "file not found"),
    ]
    vault = missing[1]
    assert vault["folder"] == "Vault" and vault["access"] == "credentialed" and vault["how_to_obtain"].startswith("Sign")
    assert missing[3]["folder"] == "MiniQA/test.jsonl"
    assert result.manifest["counts"] == {"train": {"mini-ner": 40}}
    assert [e.get("missing", False) for e in result.manifest["entries"]] == [False, True]
    assert "## Missing sources" in (tmp_path / "out" / "report.md").read_text()


@pytest.mark.parametrize("interrupt", [False, True])
def test_failure_or_ctrl_c_leaves_no_output(tmp_path, data, spec, interrupt):
    plugin = MiniPlugin(fail_after=30, interrupt=interrupt)
    # A plugin's exception reaches the user as a one-line HookError naming the plugin (its cause chained).
    with pytest.raises(KeyboardInterrupt if interrupt else HookError):
        build_mix(spec, data, tmp_path / "out", registry=mini_registry(plugin))
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_existing_output_needs_force_and_survives_a_failed_rebuild(tmp_path, data, spec):
    out = tmp_path / "out"
    build_mix(spec, data, out, registry=mini_registry(), write_dataset=False)
    before = (out / "train.jsonl").read_bytes()
    with pytest.raises(MedTunedError, match="already exists; .* --force"):
        build_mix(spec, data, out, registry=mini_registry(), write_dataset=False)
    with pytest.raises(HookError, match="render failed on purpose"):
        build_mix(spec, data, out, registry=mini_registry(MiniPlugin(fail_after=5)), force=True, write_dataset=False)
    assert (out / "train.jsonl").read_bytes() == before and leftovers(tmp_path) == []
    build_mix(spec, data, out, registry=mini_registry(), seed=99, force=True, write_dataset=False)
    assert (out / "train.jsonl").read_bytes() != before and leftovers(tmp_path) == []
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(MedTunedError, match="holds no manifest.json .* refusing to replace it"):
        build_mix(spec, data, other, registry=mini_registry(), force=True, write_dataset=False)
    assert (other / "notes.txt").read_text() == "keep me"
    empty = tmp_path / "empty"
    empty.mkdir()
    build_mix(spec, data, empty, registry=mini_registry(), write_dataset=False)  # an empty folder is fine
    assert (empty / "train.jsonl").exists()


def test_user_templates_are_used_and_recorded(tmp_path, data, spec):
    path = tmp_path / "templates.json"
    path.write_text(json.dumps({"mini-qa": ["Own wording A.", "Own wording B."]}))
    result = build_mix(spec, data, tmp_path / "out", registry=mini_registry(), templates=path, write_dataset=False)
    qa = [r for r in read_rows(tmp_path / "out" / "train.jsonl") if r["task"] == "mini-qa"]
    assert {r["instruction"] for r in qa} == {"Own wording A.", "Own wording B."}
    assert all(r["template_id"].startswith("custom:") for r in qa)
    assert result.manifest["templates"]["file"] == "templates.json" and len(result.manifest["templates"]["sha256"]) == 64


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        ('task = "mini-qa"\nsplit = "validation"', r"m.toml:1: entries\[0\] \(mini-qa\): task 'mini-qa' has no split 'validation' \(it has train, test\)"),
        ('task = "mini-qa"\nsources = { alpa = 3 }', r"has no source 'alpa' \(did you mean 'alpha'\?\)"),
        ('task = "mini-ner"\nsources = { alpha = 3 }', r"task 'mini-ner' has no sources to select from"),
    ],
)
def test_spec_checked_against_the_registry(tmp_path, data, entry, pattern):
    spec = load_spec(write_spec(tmp_path / "m.toml", f"[[entries]]\n{entry}\n"))
    with pytest.raises(SpecError, match=pattern):
        build_mix(spec, data, tmp_path / "out", registry=mini_registry())


def test_a_mix_with_no_training_rows_is_an_error(tmp_path, data):
    spec = load_spec(write_spec(tmp_path / "m.toml", '[[entries]]\ntask = "mini-ner"\ntake = 0\n'))
    with pytest.raises(MedTunedError, match="selected no training rows"):
        build_mix(spec, data, tmp_path / "out", registry=mini_registry())
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []
    with pytest.raises(MedTunedError, match="does not exist"):
        build_mix(spec, tmp_path / "nowhere", tmp_path / "out", registry=mini_registry())


def test_lengths_histograms_and_tokenizer_measure(tmp_path):
    assert percentile_of(Counter({1: 94, 50: 6}), 95) == 50
    assert percentile_of(Counter({1: 95, 50: 5}), 95) == 1
    chars = LengthMeasure("chars", "characters", lambda texts: [len(t) for t in texts])
    comp = Composition({"a": "ner", "b": "qa"}, chars, batch=2)
    for i in range(5):
        comp.add("train", {"instruction": "I", "input": "", "output": "x" * i, "task": "a"})
    comp.add("train", {"instruction": "I", "input": "", "output": "", "task": "b"})
    rows = {r["name"]: r for r in comp.rows("train")}
    base = len("### Instruction:\nI\n\n### Output:\n")
    assert rows["a"]["rows"] == 5 and rows["a"]["mean_len"] == base + 2 and rows["a"]["p95_len"] == base + 4
    assert rows["total"]["rows"] == 6 and rows["qa"]["share"] == pytest.approx(1 / 6)

    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "fever": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    measure = load_measure(tmp_path / "tokenizer.json")
    assert measure.unit == "tokens" and measure.count_batch(["fever, cough"]) == [3]
    assert load_measure(None).count_batch(["a  b\nc"]) == [3]
    with pytest.raises(MedTunedError, match="not a tokenizer file or folder"):
        load_measure(tmp_path / "absent")


def test_dataset_folder_streams_into_several_shards_and_loads(tmp_path):
    import datasets

    rows = [
        alpaca({"instruction": "I", "input": f"input {i} " + "x" * (1000 + i % 50), "output": "o", "task": "t", "template_id": "builtin:0", "id": str(i)})
        for i in range(4000)
    ]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    empty = tmp_path / "validation.jsonl"
    empty.write_text("")
    written = save_dataset({"train": train, "validation": empty}, tmp_path / "dataset", max_shard_bytes=50_000)
    shards = sorted(p.name for p in (tmp_path / "dataset" / "data").glob("train-*.parquet"))
    assert len(shards) > 3 and shards[0] == f"train-00000-of-{len(shards):05d}.parquet"
    assert written == {"train": [f"data/{name}" for name in shards]}  # an empty split gets no shard
    assert not list((tmp_path / "dataset").rglob(".*"))  # no partial shard left
    files = {split: [str(tmp_path / "dataset" / path) for path in paths] for split, paths in written.items()}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf-cache"))
    assert loaded["train"].num_rows == 4000 and loaded["train"].to_list() == rows  # order and text kept
    assert loaded["train"].column_names == OUTPUT_KEYS


SPLIT_MIX = """
[[entries]]
task = "mini-ner"

[[entries]]
task = "mini-ner"
split = "validation"
target = "validation"
"""


def test_a_split_file_missing_inside_a_present_folder(tmp_path, data):
    (data / "MiniNER" / "validation.tsv").unlink()
    spec = load_spec(write_spec(tmp_path / "m.toml", SPLIT_MIX))
    # Found only when its loader starts (after other entries rendered): still one clean error, no output.
    with pytest.raises(MissingSourcesError, match=r"1 source\(s\) missing.*\n  - mini-ner \(validation\): .*validation.tsv"):
        build_mix(spec, data, tmp_path / "out", registry=mini_registry())
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []
    # Listed together with a missing folder found up front.
    spec = load_spec(write_spec(tmp_path / "m.toml", SPLIT_MIX + '[[entries]]\ntask = "mini-vault"\n'))
    with pytest.raises(MissingSourcesError, match=r"2 source\(s\) missing.*\n  - mini-vault .*\n  - mini-ner \(validation\)"):
        build_mix(spec, data, tmp_path / "out", registry=mini_registry())
    result = build_mix(spec, data, tmp_path / "out", registry=mini_registry(), allow_missing=True, write_dataset=False)
    assert [m["folder"] for m in result.manifest["missing"]] == ["Vault", "MiniNER/validation.tsv"]
    assert not (tmp_path / "out" / "validation.jsonl").exists()
