"""Output folders are owned: concurrent runs, killed runs, foreign files in --out, and failures before a run starts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from plugin_helpers import TOY_SAMPLES, toy_module
from redteam.corruptions import unreadable
from redteam.harness import invoke, medtuned, nothing_left, refused

from medtuned_core.ownership import OutputLock, lock_path
from medtuned_core.plugins import make_registry

TOY_MIX = 'seed = 1\n[[entries]]\ntask = "toy-yesno"\n'
HOLDER = textwrap.dedent(
    """
    import sys, time
    from medtuned_core.ownership import OutputLock
    with OutputLock(sys.argv[1], "medtuned " + sys.argv[2] + " --out " + sys.argv[1]):
        print("ready", flush=True)
        time.sleep(300)
    """
)


@pytest.fixture
def holder():
    """Start a process that owns an output folder (as a running build/evaluate/train would); kill it at the end."""
    procs = []

    def start(out: Path, command: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), command], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def toy_registry():
    return make_registry([toy_module()], autoload=False)


def build_args(tmp_path: Path, out: Path, seed: int = 1) -> list[object]:
    spec = tmp_path / "mix.toml"
    spec.write_text(TOY_MIX, encoding="utf-8")
    return ["build", "--mix", spec, "--data-dir", TOY_SAMPLES, "--out", out, "--seed", seed, "--no-dataset", "--quiet"]


def command_args(command: str, tmp_path: Path, out: Path) -> list[object]:
    if command == "build":
        return build_args(tmp_path, out)
    if command == "evaluate":
        return ["evaluate", "--model", tmp_path / "no-model-needed", "--tasks", "toy-yesno", "--data-dir", TOY_SAMPLES, "--out", out]
    data = tmp_path / "build"
    from medtuned_core.testing_models import write_build_output

    write_build_output(data, n_train=4)
    return ["train", "--model", tmp_path / "no-model-needed", "--data", data, "--out", out, "--recipe", "quick"]


# -- two runs into one --out ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "evaluate", "train"])
def test_a_second_run_into_a_held_folder_refuses_at_once_naming_the_holder(command, tmp_path, monkeypatch, holder):
    out = tmp_path / "out"
    proc = holder(out, command)
    result = invoke(*command_args(command, tmp_path, out), registry=toy_registry(), monkeypatch=monkeypatch)
    message = refused(result, str(out), f"pid {proc.pid}", socket.gethostname(), f"medtuned {command} --out {out}", "started")
    assert "in use by" in message
    assert not out.exists()  # the holder has not written yet, and the refused run wrote nothing


def test_a_killed_runs_lock_is_stale_and_the_next_build_proceeds(tmp_path, monkeypatch, holder):
    out = tmp_path / "out"
    proc = holder(out, "build")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(lock_path(out).read_text())["pid"] == proc.pid  # the dead run's record is still there
    result = invoke(*build_args(tmp_path, out), registry=toy_registry(), monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file() and not lock_path(out).exists()  # released and removed


def test_two_builds_started_together_one_wins_and_the_other_is_refused(tmp_path):
    """Two real processes, different seeds, no --force: exactly one writes --out; the other says why it did not."""
    reg = make_registry()
    ncbi = reg.get("ncbi-disease")
    spec = tmp_path / "mix.toml"
    spec.write_text('[[entries]]\ntask = "ncbi-disease"\ntake = 5\n', encoding="utf-8")
    out = tmp_path / "out"
    env = {**os.environ, "MEDTUNED_PLUGINS": "medtuned-tasks-ner"}
    args = [sys.executable, "-m", "medtuned_core.cli", "build", "--mix", str(spec), "--data-dir", ncbi.sample_data, "--out", str(out), "--no-dataset", "-q"]
    procs = {seed: subprocess.Popen([*args, "--seed", str(seed)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in (1, 2)}
    done = {seed: (p.wait(120), p.stderr.read()) for seed, p in procs.items()}
    winners = [seed for seed, (code, _) in done.items() if code == 0]
    assert len(winners) == 1, done
    (loser,) = set(done) - set(winners)
    code, stderr = done[loser]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and ("is in use by" in lines[0] or "already exists" in lines[0]), stderr
    assert json.loads((out / "manifest.json").read_text())["seed"] == winners[0]
    nothing_left(tmp_path, allowed={"mix.toml", "out"})


def test_two_evaluates_with_different_settings_never_share_a_folder(tmp_path):
    import evaluate_helpers as helpers

    from medtuned_core.errors import MedTunedError
    from medtuned_core.evaluate import evaluate

    data = helpers.write_data(tmp_path / "data")
    out = tmp_path / "eval"
    model = (helpers.model(), helpers.tokenizer())
    evaluate(model, ["toy-yesno"], data, "test", out, "generate", registry=helpers.registry(), progress=False)
    before = (out / "predictions.jsonl").read_bytes()
    with pytest.raises(MedTunedError, match="seed: 0 -> 1"):
        evaluate(model, ["toy-yesno"], data, "test", out, "generate", seed=1, registry=helpers.registry(), progress=False)
    with OutputLock(out, "medtuned evaluate (another one)"), pytest.raises(MedTunedError, match="in use by"):
        evaluate(model, ["toy-yesno"], data, "test", out, "generate", registry=helpers.registry(), progress=False)
    assert (out / "predictions.jsonl").read_bytes() == before  # one run's rows, once each


# -- train never deletes what it did not write ----------------------------------------------------------------


def user_folder(out: Path) -> dict[Path, bytes]:
    """The issue's folder: a user's notes in checkpoints/, a model/ and a metrics.json that are not ours."""
    files = {out / "checkpoints" / "notes.txt": b"my notes", out / "model" / "weights.bin": b"user weights", out / "metrics.json": b"{}"}
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


@pytest.mark.parametrize("flag", [None, "--resume", "--overwrite"])
def test_train_refuses_a_folder_that_is_not_its_run_and_touches_nothing(flag, tmp_path, monkeypatch):
    out = tmp_path / "out"
    files = user_folder(out)
    args = command_args("train", tmp_path, out) + ([flag] if flag else [])
    message = refused(invoke(*args), str(out))
    assert ("medtuned train did not write" in message) if flag else ("not a `medtuned train` run folder" in message)
    assert {p: p.read_bytes() for p in files} == files and sorted(p.name for p in out.iterdir()) == ["checkpoints", "metrics.json", "model"]


def test_train_keeps_a_users_files_beside_its_own_run(tmp_path):
    """A run folder with the user's notes in checkpoints/: the quick recipe deletes its checkpoint-N folders only."""
    pytest.importorskip("transformers")
    from medtuned_core.testing_models import build_tiny_model, write_build_output

    model = build_tiny_model(tmp_path / "model")
    data = write_build_output(tmp_path / "build", n_train=8)
    out = tmp_path / "run"
    base = ["train", "--model", model, "--data", data, "--out", out, "--recipe", "quick", "--max-steps", "2", "--save-steps", "1", "--threads", "1"]
    assert invoke(*base, "--dry-run").exit_code == 0
    notes = out / "checkpoints" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("keep me")
    result = invoke(*base)  # the same configuration: allowed
    assert result.exit_code == 0, result.output
    assert notes.read_text() == "keep me" and [p.name for p in notes.parent.iterdir()] == ["notes.txt"]
    assert (out / "model" / "model.safetensors").is_file()
    other = refused(invoke(*base[:-2], "--threads", "1", "learning_rate=0.5"), str(out))  # another configuration
    assert "other settings" in other and "learning_rate" in other


# -- leftovers of killed and failed runs -------------------------------------------------------------------


def test_stale_staging_folders_of_dead_builds_are_removed_by_the_next_build(tmp_path, monkeypatch):
    out = tmp_path / "out"
    stale = [tmp_path / ".out.k3j4h5g6.partial", tmp_path / ".out.a1b2c3d4.old"]
    unrelated = [tmp_path / ".out.x.k3j4h5g6.partial", tmp_path / ".other.k3j4h5g6.partial"]
    for folder in (*stale, *unrelated):
        (folder / ".shards").mkdir(parents=True)
        (folder / ".shards" / "train-0").write_bytes(b"x" * 1024)
    result = invoke(*build_args(tmp_path, out), registry=toy_registry(), monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in stale) and all(p.exists() for p in unrelated)


def test_evaluate_that_fails_before_starting_leaves_no_run_json(tmp_path, monkeypatch):
    import evaluate_helpers as helpers

    data = helpers.write_data(tmp_path / "data")
    (data / "Toy" / "test.tsv").unlink()  # the task's split file is missing
    for out in (tmp_path / "fresh", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        args = ["evaluate", "--model", tmp_path / "m", "--tasks", "toy-yesno", "--data-dir", data, "--out", out]
        refused(invoke(*args, registry=helpers.registry(), monkeypatch=monkeypatch), "test.tsv")
        assert (not out.exists()) if out.name == "fresh" else list(out.iterdir()) == []
    # the model is missing: the run has not started either
    out = tmp_path / "no-model"
    (data / "Toy" / "test.tsv").write_text((TOY_SAMPLES / "Toy" / "test.tsv").read_text())
    args = ["evaluate", "--model", tmp_path / "missing-model", "--tasks", "toy-yesno", "--data-dir", data, "--out", out]
    refused(invoke(*args, registry=helpers.registry(), monkeypatch=monkeypatch), "missing-model")
    assert not out.exists()
    nothing_left(tmp_path, allowed={"data", "empty"})


@pytest.mark.parametrize("command", ["build", "evaluate", "train", "render"])
def test_an_unwritable_out_is_one_line(command, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    out = blocker / "out"
    if command == "render":
        args = ["render", "toy-yesno", "--data-dir", TOY_SAMPLES, "--split", "test", "--out", out / "rows.jsonl"]
    else:
        args = command_args(command, tmp_path, out)
    refused(invoke(*args, registry=toy_registry(), monkeypatch=monkeypatch), blocker.name)
    assert blocker.read_text() == "a file where a folder should be"


def test_an_out_whose_lock_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    out = tmp_path / "out"
    lock = lock_path(out)
    lock.write_text("")
    with unreadable(lock):
        message = refused(invoke(*build_args(tmp_path, out), registry=toy_registry(), monkeypatch=monkeypatch), str(out))
    assert "cannot lock" in message and not out.exists()


def test_a_refused_run_in_a_real_process_exits_1_without_a_traceback(tmp_path, holder):
    out = tmp_path / "out"
    proc = holder(out, "evaluate")
    result = medtuned("evaluate", "--model", tmp_path / "m", "--tasks", "ncbi-disease", "--data-dir", tmp_path, "--out", out)
    assert "in use by pid" in refused_line(result) and str(proc.pid) in result.stderr


def refused_line(proc) -> str:
    from redteam.harness import refused_subprocess

    return refused_subprocess(proc)
