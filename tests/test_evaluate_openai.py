"""``--backend openai`` against a real OpenAI-compatible server: ``transformers serve`` on 127.0.0.1 with a tiny
model folder (one server shared by the module, on a free port, always killed). The answers equal the hf
backend's on the same model; a server killed mid-run, then restarted, leaves no row lost or duplicated.
The log-probability path, which transformers serve does not offer, runs on recorded server responses."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("openai")
pytest.importorskip("fastapi", reason='the server test needs "transformers[serving]"')
pytest.importorskip("uvicorn", reason='the server test needs "transformers[serving]"')

from click.testing import CliRunner  # noqa: E402

from medtuned_core import cli as cli_module  # noqa: E402
from medtuned_core.testing_models import build_tiny_model, sample_data_root  # noqa: E402
from medtuned_core.testing_server import LocalServer  # noqa: E402

TASKS = "ncbi-disease,gad"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny model with a chat template whose end-of-turn token ends generation (as an instruct model's
    generation_config says), so the server stops a chat turn where the hf backend does."""
    from transformers import AutoTokenizer, GenerationConfig

    folder = build_tiny_model(tmp_path_factory.mktemp("served") / "tiny", chat=True, weight_std=0.1)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = GenerationConfig.from_pretrained(folder)
    config.eos_token_id = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|end|>")]
    config.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    served = LocalServer(model_dir, tmp_path_factory.mktemp("logs") / "serve.log")
    try:
        yield served.start()
    finally:
        served.stop()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    """NCBI-disease and GAD from the samples the task packages ship, under one data root."""
    return sample_data_root(tmp_path_factory.mktemp("data"), ["ncbi-disease", "gad"])


def cli(*args: object):
    return CliRunner().invoke(cli_module.cli, ["evaluate", *map(str, args)], catch_exceptions=False)


def predictions(out: Path) -> dict[tuple[str, str], dict]:
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    keyed = {(r["task"], r["id"]): r for r in rows}
    assert len(keyed) == len(rows), "a row was stored twice"
    return keyed


@pytest.fixture(scope="module")
def hf_answers(model_dir, data_root, tmp_path_factory) -> dict[tuple[str, str], dict]:
    """The hf backend's greedy answers on the same model (batch 1, as the server runs each request)."""
    out = tmp_path_factory.mktemp("hf") / "eval"
    result = cli(
        "--model",
        model_dir,
        "--tasks",
        TASKS,
        "--data-dir",
        data_root,
        "--limit",
        6,
        "--out",
        out,
        "--batch-size",
        1,
        "--mode",
        "generate",
        "--format",
        "alpaca",
        "--dtype",
        "float32",  # as the server runs the float32 folder (auto would pick bf16 on a bf16-capable CPU)
    )
    assert result.exit_code == 0, result.output
    return predictions(out)


def test_openai_backend_answers_as_the_hf_backend_does(server, model_dir, data_root, hf_answers, tmp_path, monkeypatch):
    secret = "sk-medtuned-never-written-42"
    monkeypatch.setenv("MEDTUNED_TEST_API_KEY", secret)
    out = tmp_path / "api"
    result = cli(
        *("--model", model_dir, "--tasks", TASKS, "--data-dir", data_root, "--limit", 4, "--out", out, "--format", "alpaca"),
        *("--backend", "openai", "--base-url", server.base_url, "--mode", "score", "--concurrency", 2, "--api-key-env", "MEDTUNED_TEST_API_KEY"),
    )
    assert result.exit_code == 0, result.output
    ours = predictions(out)
    assert len(ours) == 8
    for key, row in ours.items():
        assert row["method"] == "generate" and row["decode"]["api"] == "completions"
        assert row["prediction"] == hf_answers[key]["prediction"], key  # greedy, same prompt, same budget
        assert row["decode"]["max_new_tokens"] == hf_answers[key]["decode"]["max_new_tokens"]
    assert any(r["prediction"].strip() for r in ours.values())  # the model says something, not only newlines
    metrics = json.loads((out / "metrics.json").read_text())
    gad = metrics["tasks"]["gad"]["method_reasons"]
    assert list(gad) == ["generate+parse: backend openai cannot rank: the server returned no prompt log-probabilities (echo + logprobs on /v1/completions)"]
    assert list(metrics["tasks"]["ncbi-disease"]["method_reasons"])[0].startswith("generate+parse: backend openai cannot tag")
    assert metrics["run"]["token_counts"].startswith("token budgets counted with the local tokenizer")
    run = json.loads((out / "run.json").read_text())
    assert run["backend"] == "openai" and run["backend_options"]["base_url"] == server.base_url
    assert not any(secret in p.read_text(errors="replace") for p in out.iterdir() if p.is_file()) and secret not in result.output


def test_chat_completions_answer_as_the_hf_backend_in_the_chat_format(server, model_dir, data_root, tmp_path):
    """--format chat: the hf backend renders the chat template itself; the server gets the messages and applies the
    same template (/v1/chat/completions). Greedy answers are the same."""
    common = ("--model", model_dir, "--tasks", "gad", "--data-dir", data_root, "--limit", 4, "--format", "chat")
    local = cli(*common, "--out", tmp_path / "hf", "--batch-size", 1, "--dtype", "float32")
    assert local.exit_code == 0, local.output
    remote = cli(*common, "--out", tmp_path / "api", "--backend", "openai", "--base-url", server.base_url)
    assert remote.exit_code == 0, remote.output
    theirs, ours = predictions(tmp_path / "api"), predictions(tmp_path / "hf")
    assert {r["decode"]["api"] for r in theirs.values()} == {"chat"}
    assert {k: r["prediction"] for k, r in theirs.items()} == {k: r["prediction"] for k, r in ours.items()}
    assert any(r["prediction"].strip() for r in ours.values())
    assert json.loads((tmp_path / "api" / "metrics.json").read_text())["run"]["format"] == "chat"


def test_server_killed_mid_run_then_restarted_resumes_without_loss_or_duplicates(server, model_dir, data_root, hf_answers, tmp_path):
    out = tmp_path / "api"
    args = ["--model", model_dir, "--tasks", TASKS, "--data-dir", data_root, "--limit", 6, "--out", out, "--backend", "openai", "--format", "alpaca"]
    args += ["--concurrency", 1, "--backend-option", "max_retries=1", "--backend-option", "timeout=20"]
    first: dict = {}
    worker = threading.Thread(target=lambda: first.update(result=cli(*args, "--base-url", server.base_url)))
    worker.start()
    store = out / "predictions.jsonl"
    deadline = time.monotonic() + 300
    while not (store.exists() and len(store.read_bytes().splitlines()) >= 3):
        assert worker.is_alive(), first["result"].output
        assert time.monotonic() < deadline, "no answer arrived in time"
        time.sleep(0.01)
    server.stop()  # mid-run: the requests in flight and the next ones find no server
    worker.join(timeout=300)
    result = first["result"]
    assert result.exit_code != 0 and "rerun the same command to resume" in result.output, result.output
    kept = predictions(out)
    assert 3 <= len(kept) < 12

    server.start()  # a new process on a new port: --base-url is not part of the run's identity
    second = cli(*args, "--base-url", server.base_url)
    assert second.exit_code == 0, second.output
    final = predictions(out)
    assert set(final) == set(hf_answers)  # every row of both tasks, each once
    assert all(final[k]["prediction"] == kept[k]["prediction"] for k in kept)  # nothing asked twice, nothing rewritten
    assert all(final[k]["prediction"] == hf_answers[k]["prediction"] for k in final)
