"""Two third-party corpora added by declaration alone on the labels kit, installed with pip and used through the CLI:

* tests/fixtures/referrals — single-label classification in TSV (header ``id text specialty``), macro-F1;
* tests/fixtures/pharmquiz — multiple choice in JSON Lines (``stem``, a list of ``choices``, ``key``), accuracy.

Each distribution holds one TOML file, invented samples and a two-line ``__init__``; its scores on seeded
perturbed predictions (right and wrong answers in the styles models write, and unreadable ones) equal
scikit-learn called directly.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, f1_score

from medtuned_core.kits.declare import plugin_from_folder
from medtuned_core.testing import TaskPluginConformance

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PACKAGES = {"referrals": FIXTURES / "referrals" / "src" / "medtuned_referrals", "pharmquiz": FIXTURES / "pharmquiz" / "src" / "medtuned_pharmquiz"}
NO_ANSWER = "<no answer>"  # what an unreadable answer stands for: a label no gold has


@pytest.mark.parametrize("name", list(PACKAGES))
def test_the_declaration_is_all_there_is(name):
    declaration = PACKAGES[name] / "tasks" / f"{name}.toml"
    assert len(declaration.read_text(encoding="utf-8").splitlines()) <= 40
    code = list(PACKAGES[name].rglob("*.py"))
    assert [p.name for p in code] == ["__init__.py"]
    assert sum(1 for line in code[0].read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith(('"""', "from", "import"))) == 1


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    for package in PACKAGES.values():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(package.parents[1])],
            check=True,
        )
    return site


def medtuned(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "MEDTUNED_PLUGINS": "medtuned-referrals,medtuned-pharmquiz"}
    out = subprocess.run([sys.executable, "-m", "medtuned_core.cli", *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def rendered(site: Path, tmp_path: Path, name: str) -> list[dict]:
    out = tmp_path / f"{name}.jsonl"
    medtuned(site, "render", name, "--data-dir", str(PACKAGES[name] / "samples"), "--split", "test", "--out", str(out))
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def scored(site: Path, tmp_path: Path, name: str, rows: list[dict], answers: list[str]) -> dict:
    path = tmp_path / f"{name}-predictions.jsonl"
    lines = [
        json.dumps({"task": name, "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": a}) for r, a in zip(rows, answers, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json.loads(medtuned(site, "score", str(path), "--json").stdout)[name]


def test_both_tasks_are_listed_with_their_labels_and_budgets(site):
    tasks = {t["name"]: t for t in json.loads(medtuned(site, "list-tasks", "--json").stdout)}
    assert tasks["referrals"]["labels"] == ["Cardiology", "Neurology", "Dermatology", "Gastroenterology"]
    assert (tasks["referrals"]["metric"], tasks["referrals"]["package"]) == ("macro_f1", "medtuned-referrals")
    assert (tasks["pharmquiz"]["labels"], tasks["pharmquiz"]["max_new_tokens"]) == (["A", "B", "C", "D"], 64)


def test_single_label_tsv_scores_like_scikit_learn(site, tmp_path):
    rows = rendered(site, tmp_path, "referrals")
    labels = ["Cardiology", "Neurology", "Dermatology", "Gastroenterology"]
    aliases = {"Cardiology": "cardiologist", "Neurology": "neurologist", "Dermatology": "dermatologist", "Gastroenterology": "gastroenterologist"}
    rng = random.Random(11)
    answers, truth, guess = [], [], []
    for row in rows:
        label = row["output"] if rng.random() < 0.5 else rng.choice(labels)
        style = rng.randrange(5)
        answers.append([label, f"The answer is {label}.", f"Refer to a {aliases[label]}.", f"**{label.lower()}**", "I cannot tell from this letter."][style])
        truth.append(row["output"])
        guess.append(label if style < 4 else NO_ANSWER)
    result = scored(site, tmp_path, "referrals", rows, answers)
    assert result["score"] == pytest.approx(f1_score(truth, guess, labels=labels, average="macro", zero_division=0.0), abs=1e-12)
    assert result["accuracy"] == pytest.approx(accuracy_score(truth, guess), abs=1e-12)
    assert result["unparsed"] == guess.count(NO_ANSWER) > 0 and 0.2 < result["score"] < 1.0


def test_multiple_choice_jsonl_scores_like_scikit_learn(site, tmp_path):
    rows = rendered(site, tmp_path, "pharmquiz")
    assert rows[0]["input"].endswith("\n\nA. Levothyroxine\nB. Hydrocortisone\nC. Insulin\nD. Testosterone") and rows[0]["output"] == "A. Levothyroxine"
    rng = random.Random(12)
    answers, truth, guess = [], [], []
    for row in rows:
        options = dict(line.split(". ", 1) for line in row["input"].split("\n\n")[-1].splitlines())
        letter = row["output"][0] if rng.random() < 0.5 else rng.choice("ABCD")
        style = rng.randrange(6)
        answers.append(
            [letter, f"The answer is: {letter}", f'The answer is "{letter}".', f"({letter}) {options[letter]}", options[letter], "It depends."][style]
        )
        truth.append(row["output"][0])
        guess.append(letter if style < 5 else NO_ANSWER)
    result = scored(site, tmp_path, "pharmquiz", rows, answers)
    assert result["score"] == pytest.approx(accuracy_score(truth, guess), abs=1e-12)
    assert result["correct"] == sum(t == g for t, g in zip(truth, guess, strict=True)) and result["unparsed"] == guess.count(NO_ANSWER)


class TestReferralsConformance(TaskPluginConformance):
    plugin = plugin_from_folder(PACKAGES["referrals"] / "tasks")


class TestPharmQuizConformance(TaskPluginConformance):
    plugin = plugin_from_folder(PACKAGES["pharmquiz"] / "tasks")
