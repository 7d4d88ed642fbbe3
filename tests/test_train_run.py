"""`medtuned train` in one process (no DeepSpeed): learning, export, model card, LoRA merge, CLI behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from click.testing import CliRunner  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from medtuned_core.cli import cli  # noqa: E402
from medtuned_core.errors import MedTunedError  # noqa: E402
from medtuned_core.testing_models import build_tiny_model, write_build_output  # noqa: E402
from medtuned_core.train import train  # noqa: E402
from medtuned_core.train.plots import loss_points  # noqa: E402

torch.set_num_threads(1)

FAST = {"recipe": "quick", "learning_rate": 3e-3, "warmup_steps": 0, "logging_steps": 1, "threads": 1}


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_build_output(tmp_path_factory.mktemp("build"), n_train=32, n_validation=6)


def generate_from(folder: Path, prompt: str = "### Instruction:\nTag every word.\n\n### Input:\nfever\n\n### Output:\n") -> str:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    inputs = tokenizer([prompt], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=6, do_sample=False, min_new_tokens=2)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1] :])


def test_single_process_run_learns_and_exports(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    export = train({**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(out), "max_steps": 12, "save_steps": 6})
    assert export == out / "model"
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [v for _, v in loss_points(metrics["log_history"], "loss")]
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3
    assert metrics["summary"]["global_step"] == 12 and "eval_loss" in metrics["summary"]
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "length_report.json").read_text())
    assert report["train"]["rows"] == 32 and report["train"]["over_limit"] == 0
    assert json.loads((out / "run_config.json").read_text())["config"]["max_steps"] == 12
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["train_begin", "train_end"] and events[0]["global_step"] == 0

    names = {p.name for p in export.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "README.md"} <= names
    assert "training_args.bin" not in names and not list(out.glob(".model*"))
    assert not (out / "checkpoints").exists()  # the quick recipe keeps no checkpoints once exported
    assert json.loads((export / "config.json").read_text())["use_cache"] is True
    card = (export / "README.md").read_text()
    assert "base_model:" in card and "toy_tagging" in card and "CC0-1.0 (invented test data)" in card and "transformers" in card
    trained, base = load_file(export / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    assert any(not torch.equal(trained[k], base[k]) for k in base)
    generate_from(export)


def test_padded_batches_and_lora_merged_on_export(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lora"
    export = train({**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(out), "max_steps": 4, "packing": False, "lora": True, "lora_r": 4})
    trained, base = load_file(export / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    assert set(trained) == set(base)  # a plain model: the adapter is folded in, no lora_ keys left
    changed = [k for k in base if not torch.equal(trained[k], base[k])]
    assert changed and all(k.endswith("proj.weight") for k in changed)  # only the adapted projections moved
    generate_from(export)


def test_frozen_bottom_keeps_embeddings_and_first_layers(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    export = train({**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(tmp_path / "frozen"), "max_steps": 3, "freeze_layers": 1})
    trained, base = load_file(export / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    changed = {k for k in base if not torch.equal(trained[k], base[k])}
    assert not {k for k in changed if "embed_tokens" in k or ".layers.0." in k}
    assert any(".layers.1." in k for k in changed)
    with pytest.raises(MedTunedError, match="would freeze all 2 decoder layers"):
        train({**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(tmp_path / "all"), "max_steps": 1, "freeze_layers": 2})
    with pytest.raises(MedTunedError, match="choose one"):
        train({**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(tmp_path / "both"), "freeze_layers": 1, "lora": True})


def test_cli_dry_run_and_refusals(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "dry"
    args = ["train", "--model", str(tiny_model_dir), "--data", str(data_dir), "--out", str(out), "--recipe", "quick", "--threads", "1"]
    result = runner.invoke(cli, [*args, "--dry-run", "--max-seq-length", "60", "lora_r=8"])
    assert result.exit_code == 0, result.output
    assert "lora_r" in result.output and "rows longer than 60 tokens dropped" in result.output
    assert json.loads((out / "run_config.json").read_text())["config"]["lora_r"] == 8
    assert not (out / "checkpoints").exists()

    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    result = runner.invoke(cli, args)
    assert result.exit_code != 0 and "--resume" in result.output
    result = runner.invoke(cli, ["train", "--model", str(tiny_model_dir), "--data", str(tmp_path), "--out", str(out)])
    assert result.exit_code != 0 and "no train.jsonl" in result.output
    result = runner.invoke(cli, ["train", "--data", str(data_dir), "--out", str(out)])
    assert result.exit_code != 0 and "missing --model" in result.output


def test_time_budget_stops_training_and_still_exports(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "budget"
    export = train({**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(out), "max_steps": 500, "max_minutes": 1e-6})
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["summary"]["global_step"] == 1  # stopped after the first step crossed the budget
    assert (export / "model.safetensors").is_file()


def test_a_time_budget_decays_the_learning_rate_to_zero_by_its_end(tiny_model_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "budget-schedule"
    config = {**FAST, "model": str(tiny_model_dir), "data": str(data_dir), "out": str(out), "max_steps": 100_000, "max_minutes": 0.05, "save_steps": 100_000}
    train(config)
    history = json.loads((out / "metrics.json").read_text())["log_history"]
    rates = [e["learning_rate"] for e in history if "learning_rate" in e]
    assert len(rates) >= 5 and rates[0] == pytest.approx(FAST["learning_rate"])
    assert all(b <= a + 1e-12 for a, b in zip(rates, rates[1:], strict=False))  # decaying all along
    # A schedule sized for max_steps would still be at ~100 % of the peak when the 3-second budget ends.
    assert rates[-1] < 0.35 * FAST["learning_rate"]
