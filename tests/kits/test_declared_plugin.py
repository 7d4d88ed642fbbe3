"""A third-party corpus added by declaration alone: tests/fixtures/organs16 is a typed IOBES token<TAB>tag corpus
(16 entity types) whose distribution holds one TOML file, invented samples and a two-line ``__init__``. It is
installed with pip into a temporary folder and used through the CLI, as a user would; its scores on perturbed
predictions equal seqeval called directly, in the default and the strict IOBES modes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from medtuned_core.kits.declare import plugin_from_folder
from medtuned_core.testing import TaskPluginConformance

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "organs16"
PACKAGE = FIXTURE / "src" / "medtuned_organs16"
DECLARATION = PACKAGE / "tasks" / "organs16.toml"


def test_the_declaration_is_all_there_is():
    assert len(DECLARATION.read_text(encoding="utf-8").splitlines()) <= 40
    code = [p for p in PACKAGE.rglob("*.py")]
    assert [p.name for p in code] == ["__init__.py"]
    assert sum(1 for line in code[0].read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith(('"""', "from", "import"))) == 1


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(FIXTURE)], check=True)
    return site


def medtuned(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "MEDTUNED_PLUGINS": "medtuned-organs16"}
    out = subprocess.run([sys.executable, "-m", "medtuned_core.cli", *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def _perturb(rng: random.Random, tags: list[str], labels: list[str]) -> list[str]:
    out = [rng.choice(labels) if rng.random() < 0.25 else t for t in tags]
    return out if rng.random() < 0.8 else out[: len(out) // 2]  # now and then a truncated answer


def test_installed_declared_plugin_scores_like_seqeval(site, tmp_path):
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOBES

    (task,) = json.loads(medtuned(site, "list-tasks", "--json").stdout)
    assert (task["name"], task["package"], task["metric"]) == ("organs16", "medtuned-organs16", "entity_f1")
    assert len(task["labels"]) == 65 and {label[:2] for label in task["labels"] if label != "O"} == {"S-", "B-", "I-", "E-"}
    rows_file = tmp_path / "rows.jsonl"
    medtuned(site, "render", "organs16", "--data-dir", str(PACKAGE / "samples"), "--split", "test", "--out", str(rows_file))
    rows = [json.loads(line) for line in rows_file.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12
    rng = random.Random(16)
    golds, preds, score_rows = [], [], []
    for row in rows:
        tokens = row["input"].split(" ")
        gold = [line.rpartition(" : ")[2] for line in row["output"].split("\n")]
        pred = _perturb(rng, gold, task["labels"])
        answer = "\n".join(f"{t} : {g}" for t, g in zip(tokens, pred, strict=False))
        golds.append(gold)
        preds.append(pred + ["O"] * (len(gold) - len(pred)))  # what was not answered counts as O
        score_rows.append({"task": "organs16", "input": row["input"], "reference": row["output"], "prediction": answer})
    scores_file = tmp_path / "score.jsonl"
    scores_file.write_text("".join(json.dumps(r) + "\n" for r in score_rows), encoding="utf-8")
    result = json.loads(medtuned(site, "score", str(scores_file), "--json").stdout)["organs16"]
    assert result["score"] == pytest.approx(f1_score(golds, preds), abs=1e-12)
    assert (result["precision"], result["recall"]) == pytest.approx((precision_score(golds, preds), recall_score(golds, preds)), abs=1e-12)
    assert result["strict"]["f1"] == pytest.approx(f1_score(golds, preds, mode="strict", scheme=IOBES), abs=1e-12)
    assert result["strict"]["mode"] == "seqeval strict IOBES"
    assert 0.2 < result["score"] < 0.95 and len(result["per_type"]) >= 10


class TestOrgans16Conformance(TaskPluginConformance):
    plugin = plugin_from_folder(PACKAGE / "tasks")
