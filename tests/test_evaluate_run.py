"""``evaluate()`` and ``medtuned evaluate`` end to end on toy tasks with a tiny model: both modes, the
predictions file in the core score format (re-scored by ``medtuned score``), hand-made predictions with
known metrics, resuming after a kill, and refusing to mix runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import evaluate_helpers as helpers
import pytest
import torch

from medtuned_core.errors import MedTunedError
from medtuned_core.evaluate import evaluate
from medtuned_core.testing_models import build_tiny_model

TASKS = ["toy-tagger", "toy-yesno", "toy-echo"]
CORE_KEYS = ("task", "id", "input", "reference", "prediction")


@pytest.fixture
def data(tmp_path) -> Path:
    return helpers.write_data(tmp_path / "data")


@pytest.fixture
def cli(monkeypatch):
    return helpers.cli_runner(monkeypatch)


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(out: Path, data: Path, mode: str, model=None, **kwargs) -> dict:
    model = model or (helpers.model(), helpers.tokenizer())
    return evaluate(model, TASKS, data, "test", out, mode, registry=helpers.registry(), progress=False, batch_size=4, **kwargs)


def test_generate_mode_end_to_end_and_rescoring_by_medtuned_score(tmp_path, data, cli):
    metrics = run(tmp_path / "gen", data, "generate")
    out = tmp_path / "gen"
    assert {p.name for p in out.iterdir()} >= {"predictions.jsonl", "metrics.json", "results.md", "results.png", "run.json"}
    rows = read_rows(out / "predictions.jsonl")
    assert len(rows) == 6 + 2 + 3 and {r["method"] for r in rows} == {"generate"}
    for r in rows:
        assert all(isinstance(r[k], str) for k in CORE_KEYS)
        assert r["prompt"].endswith("### Output:\n") and "diagnostics" in r and "parsed" in r
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert (out / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rescored = json.loads(cli("score", out / "predictions.jsonl", "--json").stdout)
    for task in TASKS:
        ours = {k: v for k, v in metrics["tasks"][task].items() if k not in ("examples_per_s", "methods", "method_reasons", "choices")}
        assert rescored[task] == ours
        assert metrics["tasks"][task]["examples_per_s"] > 0


def test_score_mode_tags_ranks_and_falls_back_to_generation(tmp_path, data, cli):
    metrics = run(tmp_path / "score", data, "score")
    tasks = metrics["tasks"]
    assert tasks["toy-tagger"]["methods"] == {"tag": 6}
    assert tasks["toy-yesno"]["methods"] == {"rank": 2}
    assert tasks["toy-echo"]["methods"] == {"generate": 3}
    assert tasks["toy-tagger"]["unparsed"] == 0 and tasks["toy-yesno"]["unparsed"] == 0
    rows = {(r["task"], r["id"]): r for r in read_rows(tmp_path / "score" / "predictions.jsonl")}
    for (task, _), r in rows.items():
        if task == "toy-tagger":
            words = r["input"].split()
            assert [line.rsplit(" : ", 1)[0] for line in r["prediction"].split("\n")] == words
            assert r["decode"]["exact"] and r["decode"]["passes"] >= 1
        if task == "toy-yesno":
            assert r["prediction"] in ("yes", "no") and set(r["decode"]["choice_logprobs"]) == {"yes", "no"}
    rescored = json.loads(cli("score", tmp_path / "score" / "predictions.jsonl", "--json").stdout)
    assert rescored["toy-tagger"]["score"] == tasks["toy-tagger"]["score"]


def test_verify_and_incremental_tagging_give_the_same_predictions(tmp_path, data):
    model = (helpers.model(seed=4, dtype=torch.float64), helpers.tokenizer())
    run(tmp_path / "verify", data, "score", model=model)
    run(tmp_path / "incr", data, "score", model=model, tagging="incremental")
    pick = lambda p: [(r["id"], r["prediction"]) for r in read_rows(p / "predictions.jsonl") if r["task"] == "toy-tagger"]  # noqa: E731
    assert pick(tmp_path / "verify") == pick(tmp_path / "incr")
    assert json.loads((tmp_path / "incr" / "run.json").read_text())["lookahead"] == 0


def test_hand_made_predictions_give_exactly_the_expected_metrics(tmp_path, cli):
    rows = [
        # toy-tagger: gold entities {(0,2)}, {(0,1)}, {}, {(0,1)}; predicted {(0,2)}, {}, {(0,1)}, unparsed
        {"task": "toy-tagger", "id": "1", "input": "a b c", "reference": "a : B\nb : I\nc : O", "prediction": "a : B\nb : I\nc : O"},
        {"task": "toy-tagger", "id": "2", "input": "x y", "reference": "x : B\ny : O", "prediction": "x : O\ny : O"},
        {"task": "toy-tagger", "id": "3", "input": "p q", "reference": "p : O\nq : O", "prediction": "p : B\nq : O"},
        {"task": "toy-tagger", "id": "4", "input": "m", "reference": "m : B", "prediction": "I cannot tell."},
        {"task": "toy-yesno", "id": "1", "reference": "yes", "prediction": "Yes."},
        {"task": "toy-yesno", "id": "2", "reference": "yes", "prediction": "no"},
        {"task": "toy-yesno", "id": "3", "reference": "no", "prediction": "perhaps"},
    ]
    path = tmp_path / "hand.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = json.loads(cli("score", path, "--json", "--n-boot", "0").stdout)  # exact figures; intervals are tested in test_stats.py
    tagger = result["toy-tagger"]
    assert (tagger["tp"], tagger["fp"], tagger["fn"]) == (1, 1, 2)
    assert tagger["precision"] == 0.5 and tagger["recall"] == 1 / 3
    assert tagger["score"] == pytest.approx(0.4, abs=1e-12)
    assert (tagger["n"], tagger["unparsed"], tagger["gold_unparsed"]) == (4, 1, 0)
    assert result["toy-yesno"] == {"metric": "accuracy", "score": 1 / 3, "n": 3, "unparsed": 1, "gold_unparsed": 0}


def test_hand_made_predictions_on_the_real_ncbi_task(tmp_path):
    """With medtuned-tasks-ner installed: entity F1 of a known answer set, through the real parser and scorer."""
    from medtuned_core.plugins import make_registry
    from medtuned_core.scoring import read_score_rows, score_rows

    reg = make_registry()
    if "ncbi-disease" not in reg.tasks:
        pytest.skip("medtuned-tasks-ner is not installed")

    def answer(words, tags):
        return "\n".join(f"{w} : {t}" for w, t in zip(words, tags, strict=True))

    w1, w2 = "Familial polyposis is rare".split(), "no finding here".split()
    rows = [
        {"task": "ncbi-disease", "id": "1", "input": " ".join(w1), "reference": answer(w1, "BIOO"), "prediction": answer(w1, "BIOO")},
        {"task": "ncbi-disease", "id": "2", "input": " ".join(w1), "reference": answer(w1, "BIOB"), "prediction": answer(w1, "BOOO")},
        {"task": "ncbi-disease", "id": "3", "input": " ".join(w2), "reference": answer(w2, "OOO"), "prediction": answer(w2, "OOO")},
    ]
    path = tmp_path / "ncbi.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = score_rows(reg, read_score_rows(path))["ncbi-disease"]
    # gold: 1 + 2 + 0 entities; predicted: 1 + 1 (a B without its I is a different span) + 0; correct: 1
    assert result["score"] == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert result["unparsed"] == 0 and result["n"] == 3


def test_resume_after_a_torn_line_keeps_every_row_once(tmp_path, data):
    out = tmp_path / "resume"
    model = (helpers.model(), helpers.tokenizer())
    run(out, data, "score", model=model, limit=2)
    first = (out / "predictions.jsonl").read_text(encoding="utf-8")
    with (out / "predictions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"task": "toy-tagger", "id": "5", "inp')  # a write cut short by a kill
    metrics = run(out, data, "score", model=model)
    rows = read_rows(out / "predictions.jsonl")
    keys = [(r["task"], r["id"]) for r in rows]
    assert len(keys) == len(set(keys)) == 11
    assert (out / "predictions.jsonl").read_text(encoding="utf-8").startswith(first)
    assert metrics["tasks"]["toy-tagger"]["n"] == 6
    assert metrics["tasks"]["toy-tagger"]["examples_per_s"] is not None


def test_another_runs_folder_is_refused_unless_overwritten(tmp_path, data):
    out = tmp_path / "run"
    model = (helpers.model(), helpers.tokenizer())
    run(out, data, "generate", model=model, limit=1)
    with pytest.raises(MedTunedError, match="mode: 'generate' -> 'score'"):
        run(out, data, "score", model=model, limit=1)
    run(out, data, "score", model=model, limit=1, overwrite=True)
    assert {r["method"] for r in read_rows(out / "predictions.jsonl")} == {"tag", "rank", "generate"}


def test_a_model_retrained_into_the_same_folder_is_not_taken_for_the_old_one(tmp_path, data):
    folder = tmp_path / "model"
    model, tokenizer = helpers.model(), helpers.tokenizer()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    out = tmp_path / "run"
    run(out, data, "generate", model=str(folder), limit=1)
    run(out, data, "generate", model=str(folder), limit=1)  # the same weights: a resume
    with torch.no_grad():
        model.lm_head.weight.add_(0.01)  # "retrained": same path, other weights
    model.save_pretrained(folder)
    with pytest.raises(MedTunedError, match="model_fingerprint"):
        run(out, data, "generate", model=str(folder), limit=1)


KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
import evaluate_helpers as helpers
from medtuned_core.evaluate import evaluate
evaluate({model!r}, ["toy-tagger"], {data!r}, "test", {out!r}, "generate", registry=helpers.registry(), progress=False, batch_size=1, max_new_tokens=96)
"""


def test_kill_9_mid_run_then_resume_keeps_every_row_exactly_once(tmp_path):
    words = "mild fever cough nausea tumour renal failure acute pain".split()
    sentences = [[(words[(i + k) % len(words)], "O") for k in range(3 + i % 5)] for i in range(24)]
    data = helpers.write_data(tmp_path / "data", sentences=sentences)
    model_dir = build_tiny_model(tmp_path / "model")
    out = tmp_path / "out"
    script = KILLED_RUN.format(tests=str(Path(__file__).parent), model=str(model_dir), data=str(data), out=str(out))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    preds = out / "predictions.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if preds.exists() and preds.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = preds.read_bytes()
    done_before = before.count(b"\n")
    assert 3 <= done_before < len(sentences)
    metrics = evaluate(
        str(model_dir), ["toy-tagger"], data, "test", out, "generate", registry=helpers.registry(), progress=False, batch_size=1, max_new_tokens=96
    )
    rows = read_rows(preds)
    assert sorted(int(r["id"]) for r in rows) == list(range(1, len(sentences) + 1))
    complete = before[: before.rfind(b"\n") + 1]
    assert preds.read_bytes().startswith(complete)  # nothing written before the kill was lost or rewritten
    assert metrics["tasks"]["toy-tagger"]["n"] == len(sentences)


def test_cli_evaluate_writes_the_run_and_prints_json(tmp_path, data, cli):
    model_dir = build_tiny_model(tmp_path / "model")
    res = cli(
        "evaluate",
        "--model",
        model_dir,
        "--tasks",
        "toy-tagger,toy-yesno",
        "--data-dir",
        data,
        "--out",
        tmp_path / "o",
        "--mode",
        "score",
        "--limit",
        "2",
        "--json",
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.stdout)
    assert set(metrics["tasks"]) == {"toy-tagger", "toy-yesno"} and metrics["run"]["mode"] == "score"
    assert "| toy-tagger | f1 |" in (tmp_path / "o" / "results.md").read_text()
    table = cli("evaluate", "--model", model_dir, "--family", "qa", "--data-dir", data, "--out", tmp_path / "q", "--limit", "1")
    assert table.exit_code == 0 and "toy-echo" in table.output
    assert cli("evaluate", "--model", model_dir, "--data-dir", data, "--out", tmp_path / "x").exit_code != 0


REAL_TASKS = {"ncbi-disease": "tag", "i2b2-2012": "tag", "mednli": "rank", "medqa": "rank", "gad": "rank", "chatdoctor": "generate"}


@pytest.mark.parametrize("name", sorted(REAL_TASKS))
def test_real_task_packages_on_their_samples(tmp_path, name):
    """With the task packages installed: score mode on each package's own samples, re-scored identically."""
    from medtuned_core.plugins import make_registry
    from medtuned_core.scoring import read_score_rows, score_rows

    reg = make_registry()
    if name not in reg.tasks or not reg.tasks[name].sample_data:
        pytest.skip(f"{name} is not installed")
    task = reg.tasks[name]
    split = "test" if "test" in task.splits else task.splits[0]
    out = tmp_path / name
    metrics = evaluate(
        (helpers.model(), helpers.tokenizer()), [name], task.sample_data, split, out, "score", 2, registry=reg, progress=False, max_new_tokens=24, n_boot=200
    )
    result = metrics["tasks"][name]
    assert result["methods"] == {REAL_TASKS[name]: result["n"]}
    if REAL_TASKS[name] != "generate":
        assert result["unparsed"] == 0
    again = score_rows(reg, read_score_rows(out / "predictions.jsonl"), n_boot=result["n_boot"])[name]
    assert again == {k: v for k, v in result.items() if k not in ("examples_per_s", "methods", "method_reasons", "choices")}  # the interval included
    assert result["n_boot"] == 200 and result["ci_low"] <= result["score"] <= result["ci_high"]
