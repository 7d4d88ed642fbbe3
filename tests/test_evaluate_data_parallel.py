"""Data-parallel evaluation: ``torchrun --nproc_per_node 2`` (gloo, CPU) gives the answers and scores of one process,
merged into one predictions.jsonl in corpus order; a grown sample resumes across runs, and the part files a killed
run leaves are folded in without loss or duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

from medtuned_core.evaluate import data_parallel, results  # noqa: E402
from medtuned_core.plugins import get_registry  # noqa: E402
from medtuned_core.testing_models import build_tiny_model, sample_data_root  # noqa: E402

TASKS = "ncbi-disease,gad"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("dp") / "tiny", weight_std=0.1)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """NCBI-disease and GAD from the samples the task packages ship, under one data root."""
    return sample_data_root(tmp_path_factory.mktemp("data"), ["ncbi-disease", "gad"])


def evaluate(out: Path, model_dir: Path, data_root: Path, limit: int, processes: int) -> subprocess.CompletedProcess:
    args = ["evaluate", "--model", str(model_dir), "--tasks", TASKS, "--data-dir", str(data_root), "--limit", str(limit), "--out", str(out)]
    args += ["--mode", "score", "--batch-size", "2"]
    launcher = [sys.executable, "-m", "medtuned_core.cli"]
    if processes > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m", "medtuned_core.cli"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([*launcher, *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def answers(out: Path) -> dict[tuple[str, str], tuple[str, str]]:
    found = rows(out)
    keyed = {(r["task"], r["id"]): (r["prediction"], r["method"]) for r in found}
    assert len(keyed) == len(found), "a row was stored twice"
    return keyed


@pytest.fixture(scope="module")
def single(model_dir, data_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one") / "eval"
    evaluate(out, model_dir, data_root, 8, processes=1)
    return out


def test_two_processes_answer_as_one_and_merge_in_corpus_order(single, model_dir, data_root, tmp_path):
    out = tmp_path / "eval"
    evaluate(out, model_dir, data_root, 4, processes=2)
    first = answers(out)
    assert len(first) == 8 and not list(out.glob("predictions.part-*"))
    evaluate(out, model_dir, data_root, 8, processes=2)  # a grown sample: only the new rows are computed
    merged = answers(out)
    assert merged == answers(single)
    assert all(merged[k] == v for k, v in first.items())
    new = [(r["task"], r["id"]) for r in rows(out)][8:]  # the second run's rows, appended in corpus order
    one = json.loads((single / "metrics.json").read_text())
    order = [(r["task"], r["id"]) for r in rows(single)]
    assert new == [k for k in sorted(order, key=_corpus_position(one, data_root)) if k not in first]
    two = json.loads((out / "metrics.json").read_text())
    assert two["run"]["processes"] == 2
    for task in ("ncbi-disease", "gad"):
        assert two["tasks"][task]["score"] == one["tasks"][task]["score"] and two["tasks"][task]["n"] == 8


def _corpus_position(metrics: dict, data_root: Path):
    from medtuned_core.render import render_split, sample_rows

    registry = get_registry()
    order = []
    for task in metrics["run"]["tasks"]:
        info = registry.get(task)
        order += [(task, str(r["id"])) for r in sample_rows(list(render_split(registry, info, data_root, "test", 0)), 8, 0, task, "test")]
    return {k: i for i, k in enumerate(order)}.__getitem__


def test_parts_left_by_a_killed_run_are_merged_once(single, tmp_path):
    """What a run killed mid-way leaves: rows in predictions.jsonl, more in each rank's part (one torn line)."""
    out = tmp_path / "eval"
    out.mkdir()
    done = rows(single)
    (out / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in done[:3]))
    data_parallel.part_path(out, 0).write_text("".join(json.dumps(r) + "\n" for r in done[3:6]) + json.dumps(done[6])[:40])
    data_parallel.part_path(out, 1).write_text("".join(json.dumps(r) + "\n" for r in [done[2], done[7], done[8]]))
    store = results.PredictionStore(out / "predictions.jsonl").open()
    added = data_parallel.merge_parts(out, store, [(r["task"], r["id"]) for r in done])
    assert added == 5 and not list(out.glob("predictions.part-*"))
    keys = [(r["task"], r["id"]) for r in rows(out)]
    assert keys == [(r["task"], r["id"]) for r in done[:6] + done[7:9]]  # the torn row is gone, to be recomputed
