"""`medtuned train` on DeepSpeed over gloo on CPU, in real subprocesses: a 2-process ZeRO-3 run, and kill -9 then
--resume. The first DeepSpeed run on a machine compiles a communication op (about 2 minutes, cached afterwards in
~/.cache/torch_extensions)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("deepspeed")

from medtuned_core.testing_models import build_tiny_model, write_build_output  # noqa: E402
from medtuned_core.train.plots import loss_points  # noqa: E402
from medtuned_core.train.runner import list_checkpoints  # noqa: E402

RUN_TIMEOUT = 600
FAST = ["--threads", "1", "learning_rate=3e-3", "warmup_steps=0", "logging_steps=1"]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_build_output(tmp_path_factory.mktemp("build"), n_train=32, n_validation=4)


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}


def train_command(*args: str, processes: int = 1) -> list[str]:
    if processes == 1:
        return [sys.executable, "-m", "medtuned_core.cli", "train", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m", "medtuned_core.cli", "train", *args]


def run(command: list[str], log: Path) -> None:
    with log.open("w") as fh:
        result = subprocess.run(command, stdout=fh, stderr=subprocess.STDOUT, env=env(), timeout=RUN_TIMEOUT)
    assert result.returncode == 0, log.read_text()[-6000:]


def test_two_process_zero3_learns_and_exports(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--model", str(tiny_model_dir), "--data", str(data_dir), "--out", str(out), "--deepspeed", "zero3", "--max-steps", "8", "save_steps=4", *FAST]
    args.append("max_minutes=30")  # never reached: the ranks still all-reduce their clocks and plan one schedule
    run(train_command(*args, processes=2), tmp_path / "log.txt")

    runtime = json.loads((out / "run_config.json").read_text())["runtime"]
    assert runtime["world_size"] == 2 and runtime["zero stage"] == 3
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [v for _, v in loss_points(metrics["log_history"], "loss")]
    assert len(losses) == 8 and sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.3
    rates = [e["learning_rate"] for e in metrics["log_history"] if "learning_rate" in e]
    assert rates[0] == pytest.approx(3e-3) and rates[-1] < rates[0] / 4  # the budget's schedule, capped by max_steps
    assert any(p.name.startswith("global_step") for p in (out / "checkpoints" / "checkpoint-8").iterdir())  # DeepSpeed's shards

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out / "model")  # ZeRO-3 gathered full weights on save
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    inputs = tokenizer(["### Instruction:\nName the finding.\n\n### Input:\nmild cough\n\n### Output:\n"], return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=5, min_new_tokens=2, do_sample=False)
    assert generated.shape[1] > inputs["input_ids"].shape[1]


def test_kill_then_resume_continues_from_last_checkpoint(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--model", str(tiny_model_dir), "--data", str(data_dir), "--out", str(out), "--deepspeed", "zero3", "--max-steps", "40", "save_steps=3", *FAST]
    log = (tmp_path / "killed.txt").open("w")
    process = subprocess.Popen(train_command(*args), stdout=log, stderr=subprocess.STDOUT, env=env(), start_new_session=True)
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while not any(done for _, _, done in list_checkpoints(out / "checkpoints")):
            assert process.poll() is None, (tmp_path / "killed.txt").read_text()[-6000:]
            assert time.monotonic() < deadline, "no checkpoint written in time"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the whole session we started: kill -9 mid-run
        process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL and not (out / "model").exists()
    complete = [step for step, _, done in list_checkpoints(out / "checkpoints") if done]
    assert complete and complete[-1] < 40
    (out / "checkpoints" / "checkpoint-999").mkdir()  # a half-written checkpoint newer than the last complete one

    run(train_command(*args, "--resume"), tmp_path / "resumed.txt")
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    begins = [e for e in events if e["event"] == "train_begin"]
    assert [e["global_step"] for e in begins] == [0, complete[-1]]  # continued from the checkpoint, not from zero
    assert begins[-1]["resumed_from"] == f"checkpoint-{complete[-1]}"
    assert events[-1] == {**events[-1], "event": "train_end", "global_step": 40}
    assert not (out / "checkpoints" / "checkpoint-999").exists()
    history = json.loads((out / "metrics.json").read_text())["log_history"]
    steps = [s for s, _ in loss_points(history, "loss")]
    assert steps == list(range(1, 41))  # no step trained twice in the record, none missing
    assert (out / "model" / "model.safetensors").is_file()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def export_tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.slow
def test_two_simulated_nodes_train_as_one_node_with_two_processes(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    """Two torchrun "nodes" on this machine (--nnodes 2, one process each, c10d rendezvous on 127.0.0.1): ZeRO-3 over
    gloo exports the same weights as a 2-process single-node run on the same data and seed."""

    def args(out: Path) -> list[str]:
        return ["--model", str(tiny_model_dir), "--data", str(data_dir), "--out", str(out), "--deepspeed", "zero3", "--max-steps", "4", *FAST]

    run(train_command(*args(tmp_path / "one"), processes=2), tmp_path / "one.txt")

    port = free_port()
    nodes = []
    for node in (0, 1):
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", f"--node_rank={node}", "--nproc_per_node=1"]
        launcher += ["--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}", "--rdzv_id=medtuned-two-nodes"]
        log = (tmp_path / f"node{node}.txt").open("w")
        nodes.append(
            (subprocess.Popen([*launcher, "-m", "medtuned_core.cli", "train", *args(tmp_path / "two")], stdout=log, stderr=subprocess.STDOUT, env=env()), log)
        )
    try:
        for process, _ in nodes:
            process.wait(timeout=RUN_TIMEOUT)
    finally:
        for process, log in nodes:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()
    for node, (process, _) in enumerate(nodes):
        assert process.returncode == 0, (tmp_path / f"node{node}.txt").read_text()[-6000:]

    runtime = json.loads((tmp_path / "two" / "run_config.json").read_text())["runtime"]
    assert runtime["world_size"] == 2
    one, two = export_tensors(tmp_path / "one" / "model"), export_tensors(tmp_path / "two" / "model")
    assert one.keys() == two.keys()
    assert all(torch.equal(one[k], two[k]) for k in one), [k for k in one if not torch.equal(one[k], two[k])]
    base = export_tensors(tiny_model_dir)
    assert any(not torch.equal(base[k], two[k]) for k in base if k in two)  # it trained
