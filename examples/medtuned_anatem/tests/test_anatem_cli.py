"""The installed plugin through the `medtuned` CLI, as a user runs it: list-tasks, render, score, build.

These run the CLI in a subprocess so that the plugin is found the real way, through its
`medtuned.plugins` entry point; they need the distribution installed
(`pip install -e ./examples/medtuned_anatem`, which scripts/setup.sh and CI do).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medtuned_anatem.tasks import ANATEM

EXAMPLE = Path(__file__).resolve().parents[1]
SAMPLES = Path(ANATEM.sample_data)


def _installed() -> bool:
    try:
        eps = importlib.metadata.distribution("medtuned-anatem").entry_points
    except importlib.metadata.PackageNotFoundError:
        return False
    return any(ep.group == "medtuned.plugins" and ep.name == "anatem" for ep in eps)


pytestmark = pytest.mark.skipif(not _installed(), reason="medtuned-anatem is not installed: pip install -e ./examples/medtuned_anatem")


def medtuned(*args: str, plugins: str | None = "anatem") -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MEDTUNED_PLUGINS", None)
    if plugins is not None:
        env["MEDTUNED_PLUGINS"] = plugins  # only this plugin: fast, and independent of what else is installed
    out = subprocess.run([sys.executable, "-m", "medtuned_core.cli", *args], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_list_tasks_and_plugins_show_it():
    (task,) = json.loads(medtuned("list-tasks", "--json").stdout)
    assert task["name"] == "anatem" and task["package"] == "medtuned-anatem" and task["family"] == "ner"
    assert task["version"] == importlib.metadata.version("medtuned-anatem") and task["n_templates"] == 5
    (status,) = json.loads(medtuned("plugins", "--json").stdout)
    assert status["status"] == "ok" and status["tasks"] == ["anatem"]
    assert set(status["hooks"]) >= {"medtuned_register_tasks", "medtuned_load_corpus", "medtuned_render_instruction", "medtuned_parse_output", "medtuned_score"}
    assert "anatem" in {t["name"] for t in json.loads(medtuned("list-tasks", "--json", plugins=None).stdout)}  # and among all installed plugins


def _entities(output: str) -> int:
    return sum(line.rpartition(" : ")[2].startswith("B-") for line in output.splitlines())


def test_render_then_score_gold_and_damaged_predictions(tmp_path):
    rendered = tmp_path / "test.jsonl"
    medtuned("render", "anatem", "--data-dir", str(SAMPLES), "--split", "test", "--out", str(rendered))
    rows = [json.loads(line) for line in rendered.read_text(encoding="utf-8").splitlines()]
    assert rows and all(r["task"] == "anatem" for r in rows)
    total = sum(_entities(r["output"]) for r in rows)

    # Gold as prediction, except one row with entities where the model answered with prose only.
    damaged = next(i for i, r in enumerate(rows) if _entities(r["output"]))
    lost = _entities(rows[damaged]["output"])
    assert 0 < lost < total
    score_file = tmp_path / "predictions.jsonl"
    with score_file.open("w", encoding="utf-8") as fh:
        for i, r in enumerate(rows):
            prediction = "I could not find the answer." if i == damaged else r["output"]
            fh.write(json.dumps({"task": "anatem", "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": prediction}) + "\n")
    result = json.loads(medtuned("score", str(score_file), "--json").stdout)["anatem"]
    recall = (total - lost) / total
    assert result["n"] == len(rows) and result["unparsed"] == 1 and result["metric"] == "entity_f1"
    assert result["precision"] == 1.0 and result["recall"] == pytest.approx(recall)
    assert result["score"] == pytest.approx(2 * recall / (1 + recall))


@pytest.mark.skipif(importlib.util.find_spec("medtuned_core.build") is None, reason="`medtuned build` is not available (medtuned_core.build missing)")
def test_build_includes_it_through_the_example_mix_spec(tmp_path):
    out = tmp_path / "mix"
    medtuned("build", "--mix", str(EXAMPLE / "mix.toml"), "--data-dir", str(SAMPLES), "--out", str(out), "--no-dataset", "--quiet")
    train = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    validation = [json.loads(line) for line in (out / "validation.jsonl").read_text(encoding="utf-8").splitlines()]
    rendered = tmp_path / "train-rendered.jsonl"
    medtuned("render", "anatem", "--data-dir", str(SAMPLES), "--split", "train", "--out", str(rendered))
    expected_ids = {json.loads(line)["id"] for line in rendered.read_text(encoding="utf-8").splitlines()}
    assert {r["task"] for r in train + validation} == {"anatem"}
    assert {r["id"] for r in train} == expected_ids  # take = "all"
    assert validation and not {r["id"] for r in validation} & expected_ids
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["packages"]["medtuned-anatem"] == importlib.metadata.version("medtuned-anatem")
