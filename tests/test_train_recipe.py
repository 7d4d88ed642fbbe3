"""Training recipes: the study's defaults, precedence of config file / overrides / flags, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medtuned_core.errors import MedTunedError
from medtuned_core.train.distributed import load_deepspeed_config, zero_stage
from medtuned_core.train.recipe import TrainConfig, coerce, make_config, parse_overrides


def test_paper_recipe_is_the_study() -> None:
    config = make_config("paper")
    assert (config.deepspeed, config.learning_rate, config.warmup_steps, config.lr_scheduler) == ("zero3", 1e-5, 500, "linear")
    assert (config.epochs, config.per_device_batch_size, config.packing, config.lora) == (3.0, 4, True, False)


def test_precedence_recipe_file_overrides_flags(tmp_path: Path) -> None:
    file = tmp_path / "run.json"
    file.write_text(json.dumps({"learning-rate": 2e-5, "epochs": 1, "seed": 7, "lora": True}))
    config = make_config("paper", config_file=file, overrides=parse_overrides(["seed=8", "lora_r=4", "max-seq-length=none"]), flags={"seed": 9, "epochs": None})
    assert config.learning_rate == 2e-5 and config.epochs == 1.0  # file over recipe; a None flag is "not given"
    assert config.seed == 9  # flag over override over file
    assert config.lora is True and config.lora_r == 4 and config.max_seq_length is None


def test_recipe_named_in_config_file(tmp_path: Path) -> None:
    file = tmp_path / "run.json"
    file.write_text(json.dumps({"recipe": "quick"}))
    config = make_config("paper", config_file=file)
    assert config.recipe == "quick" and config.deepspeed == "none"


def test_coercion_and_errors() -> None:
    assert coerce("packing", "off") is False and coerce("max_steps", "1e3") == 1000 and coerce("learning_rate", "3e-4") == 3e-4
    with pytest.raises(MedTunedError, match="Did you mean: learning_rate"):
        parse_overrides(["learning_rte=1"])
    with pytest.raises(MedTunedError, match="expects int"):
        coerce("max_steps", "many")
    with pytest.raises(MedTunedError, match="expects bool"):
        coerce("lora", "maybe")
    with pytest.raises(MedTunedError, match="KEY=VALUE"):
        parse_overrides(["lora"])
    with pytest.raises(MedTunedError, match="cannot be empty"):
        coerce("max_steps", None)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"deepspeed": "zero4"}, "deepspeed must be"),
        ({"per_device_batch_size": 0}, "at least 1"),
        ({"overlength": "cut"}, "overlength"),
        ({"eval_strategy": "steps"}, "eval_steps"),
    ],
)
def test_invalid_settings_are_refused(overrides, message) -> None:
    with pytest.raises(MedTunedError, match=message):
        make_config("paper", overrides=overrides)


def test_unknown_recipe_and_bad_file(tmp_path: Path) -> None:
    with pytest.raises(MedTunedError, match="unknown recipe"):
        make_config("papr")
    bad = tmp_path / "bad.json"
    bad.write_text('{"seed": 1,\n oops}')
    with pytest.raises(MedTunedError, match=r"bad\.json:2: invalid JSON"):
        make_config("paper", config_file=bad)


def test_to_json_round_trip() -> None:
    config = make_config("quick", overrides={"seed": 3})
    assert TrainConfig(**config.to_json()) == config
    assert config.diff(make_config("quick")) == {"seed": (3, 42)}


@pytest.mark.parametrize(("name", "stage"), [("zero2", 2), ("zero3", 3), ("zero3-offload", 3), ("none", 0)])
def test_shipped_deepspeed_configs(name: str, stage: int) -> None:
    config = load_deepspeed_config(name)
    assert zero_stage(config) == stage
    if config:
        assert config["train_micro_batch_size_per_gpu"] == "auto" and config["bf16"]["enabled"] == "auto"
    if stage == 3:
        assert config["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True


def test_user_deepspeed_config_is_forced_to_gather_weights(tmp_path: Path) -> None:
    path = tmp_path / "ds.json"
    path.write_text(json.dumps({"zero_optimization": {"stage": 3, "stage3_gather_16bit_weights_on_model_save": False}}))
    assert load_deepspeed_config(str(path))["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
    with pytest.raises(MedTunedError, match="not found"):
        load_deepspeed_config(str(tmp_path / "absent.json"))
