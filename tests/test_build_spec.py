"""Mix specs: TOML / YAML / JSON parsing, clear errors naming file and line, and the shipped presets."""

from __future__ import annotations

import json

import pytest
from build_helpers import write_spec

from medtuned_core.build import SpecError, Take, list_presets, load_preset, load_spec
from medtuned_core.build.spec import parse_take
from medtuned_core.errors import MedTunedError

TOML = """
name = "demo"
seed = 7

[[entries]]
task = "mini-ner"

[[entries]]
task = "mini-qa"
sources = { alpha = 10, beta = 0.5, gamma = "all" }

[[entries]]
task = "mini-ner"
split = "validation"
target = "validation"
take = 0.25

[[eval]]
task = "mini-ner"
split = "test"
"""

YAML = """
name: demo
seed: 7
entries:
  - task: mini-ner
  - task: mini-qa
    sources: {alpha: 10, beta: 0.5, gamma: all}
  - task: mini-ner
    split: validation
    target: validation
    take: 0.25
eval:
  - {task: mini-ner, split: test}
"""

JSON = {
    "name": "demo",
    "seed": 7,
    "entries": [
        {"task": "mini-ner"},
        {"task": "mini-qa", "sources": {"alpha": 10, "beta": 0.5, "gamma": "all"}},
        {"task": "mini-ner", "split": "validation", "target": "validation", "take": 0.25},
    ],
    "eval": [{"task": "mini-ner", "split": "test"}],
}


@pytest.mark.parametrize(("name", "text"), [("mix.toml", TOML), ("mix.yaml", YAML), ("mix.json", json.dumps(JSON, indent=1))])
def test_three_formats_give_the_same_spec(tmp_path, name, text):
    spec = load_spec(write_spec(tmp_path / name, text))
    assert spec.to_json() == {
        "name": "demo",
        "description": "",
        "seed": 7,
        "entries": [
            {"task": "mini-ner", "split": "train", "target": "train", "take": "all"},
            {"task": "mini-qa", "split": "train", "target": "train", "sources": {"alpha": 10, "beta": 0.5, "gamma": "all"}},
            {"task": "mini-ner", "split": "validation", "target": "validation", "take": 0.25},
        ],
        "eval": [{"task": "mini-ner", "split": "test"}],
    }
    assert spec.origin == name and len(spec.sha256) == 64
    assert [e.needs_count for e in spec.entries] == [False, True, True]


def test_take_forms():
    assert parse_take("all") == Take("all") and parse_take("ALL").kind == "all"
    assert parse_take(5) == Take("count", 5) and parse_take(0).quota(10) == 0
    assert parse_take(0.5).quota(3) == 2  # round half up
    assert parse_take(1.0).quota(7) == 7
    assert parse_take(50).quota(7) == 7  # never more than there are
    for bad in (True, -1, 0.0, 1.5, "half", None, [1]):
        with pytest.raises(ValueError):
            parse_take(bad)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('[[entries]]\ntask = "a"\ntake = \n', r"mix.toml:3: invalid TOML"),
        (
            '[[entries]]\ntask = "a"\n\n[[entries]]\ntask = "b"\ntak = 5\n',
            r"mix.toml:4: entries\[1\] \(b\): unknown key 'tak' \(did you mean 'task' or 'take'\?\)",
        ),
        ('[[entries]]\ntask = "a"\ntake = 1.5\n', r"mix.toml:1: entries\[0\] \(a\): `take`: a fraction must be in \(0, 1\]"),
        ('[[entries]]\ntask = "a"\ntake = 3\nsources = { x = 1 }\n', r"either `take` .* or `sources`"),
        ('[[entries]]\ntask = "a"\ntarget = "test"\n', r"`target` must be one of train, validation"),
        ('[[entries]]\nsplit = "train"\n', r"mix.toml:1: entries\[0\]: `task` is required"),
        ('name = "x"\n', r"needs a non-empty list `entries`"),
        ('seed = "1"\n[[entries]]\ntask = "a"\n', r"seed: must be an integer"),
        ('colour = 1\n[[entries]]\ntask = "a"\n', r"unknown key 'colour'"),
        ('[[entries]]\ntask = "a"\n[[entries]]\ntask = "a"\n', r"a/train is listed twice"),
        ('[[entries]]\ntask = "a"\n[[eval]]\ntask = "a"\n', r"mix.toml:3: eval\[0\]: `task` and `split` are both required"),
        ('[[entries]]\ntask = "a"\nsources = { x = "most" }\n', r"`sources.x`: expected \"all\""),
    ],
)
def test_toml_errors_name_file_line_and_entry(tmp_path, text, pattern):
    with pytest.raises(SpecError, match=pattern):
        load_spec(write_spec(tmp_path / "mix.toml", text))


def test_yaml_errors_carry_lines(tmp_path):
    with pytest.raises(SpecError, match=r"mix.yml:4: entries\[1\] \(b\): unknown key 'count'"):
        load_spec(write_spec(tmp_path / "mix.yml", "entries:\n  - task: a\n    take: 3\n  - task: b\n    count: 3\n"))
    with pytest.raises(SpecError, match=r"mix.yml:2: invalid YAML"):
        load_spec(write_spec(tmp_path / "mix.yml", "entries:\n\t- task: a\n"))


def test_json_errors(tmp_path):
    with pytest.raises(SpecError, match=r"mix.json:2: invalid JSON"):
        load_spec(write_spec(tmp_path / "mix.json", '{"entries":\n  [,]}'))
    with pytest.raises(SpecError, match=r"mix.json:1: expected a table/mapping"):
        load_spec(write_spec(tmp_path / "mix.json", "[1, 2]"))
    with pytest.raises(SpecError, match=r"mix.json: entries\[0\] \(a\): `enabled` must be true or false"):
        load_spec(write_spec(tmp_path / "mix.json", '{"entries": [{"task": "a", "enabled": "no"}]}'))


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(MedTunedError, match="must end in .toml"):
        load_spec(write_spec(tmp_path / "mix.txt", ""))
    with pytest.raises(MedTunedError, match="mix spec not found"):
        load_spec(tmp_path / "absent.toml")


def test_disabled_entries_are_kept_but_inactive(tmp_path):
    spec = load_spec(write_spec(tmp_path / "m.toml", '[[entries]]\ntask = "a"\n[[entries]]\ntask = "a"\nenabled = false\n'))
    assert len(spec.entries) == 2 and len(spec.active) == 1
    assert spec.to_json()["entries"][1]["enabled"] is False


def test_presets_ship_and_parse():
    assert {"paper", "paper-ablation"} <= set(list_presets())
    paper = load_preset("paper")
    assert paper.origin == "preset:paper" and paper.seed is not None
    active = {e.task: e for e in paper.active}
    # Six NER sets, three clinical/cls sets, ChatDoctor and PMC-LLaMA at 50K; GAD present but off.
    assert len(active) == 11
    assert active["chatdoctor"].take == Take("count", 50000) and active["pmc-llama"].take == Take("count", 50000)
    assert not next(e for e in paper.entries if e.task == "gad").enabled
    assert all(e.split == "train" and e.target == "train" for e in paper.active)
    assert {e.split for e in paper.evals if e.task in ("ncbi-disease", "bc2gm", "jnlpba")} == {"validation"}  # BioBERT devel sets

    ablation = load_preset("paper-ablation")
    (pmc,) = [e for e in ablation.active if e.sources]
    assert dict(pmc.sources) == {
        "pubmedqa.ori_pqaa": Take("count", 50000),
        "medqa_train": Take("count", 50000),
        "umls": Take("all"),
        "umls_relation": Take("all"),
    }


def test_unknown_preset_suggests():
    with pytest.raises(MedTunedError, match="Did you mean 'paper'"):
        load_preset("papr")
