"""Training recipes: named sets of defaults, overridable from a config file, ``KEY=VALUE`` arguments and flags.

Precedence, lowest first: the recipe, the ``--config`` file, ``KEY=VALUE`` overrides, explicit command-line flags.
The effective configuration is printed at start and saved with the run (``OUT/run_config.json``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..io import read_text
from ..prompt import FORMATS
from .tracking import parse_trackers

DEEPSPEED_CHOICES = ("zero3", "zero2", "zero3-offload", "none")
OVERLENGTH_CHOICES = ("drop", "error", "truncate")
PRECISION_CHOICES = ("auto", "bf16", "fp16", "fp32")


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run. Defaults are the study's recipe (``paper``)."""

    model: str = ""  # local HF folder, hub id, or the alias smollm2-135m
    data: str = ""  # a `medtuned build` output folder (train.jsonl, optional validation.jsonl, manifest.json)
    out: str = ""  # run folder: checkpoints/, model/ (the export), run_config.json, metrics.json, loss_curve.png
    recipe: str = "paper"
    format: str = "alpaca"  # prompt format: alpaca (the study's) | chat (the tokenizer's chat template)
    system_prompt: str | None = None  # chat: a system turn (None: the template's own default, if it has one)
    deepspeed: str = "zero3"  # zero3 | zero2 | zero3-offload | none | path to a DeepSpeed JSON config
    resume: bool = False
    # Optimisation (the study: lr 1e-5, 500 warm-up steps, linear decay, 3 epochs, per-device batch 4).
    learning_rate: float = 1e-5
    warmup_steps: float = 500  # below 1: a fraction of the total steps
    lr_scheduler: str = "linear"
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    per_device_batch_size: int = 4  # rows per batch, before the token budget splits long batches
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42
    precision: str = "auto"  # auto: bf16 on a GPU that has it, else fp32; bf16 on a CPU is opt-in
    bf16_weights: bool = True  # bf16 without DeepSpeed or LoRA: bf16 weights + fp32 master weights (False: autocast over fp32 weights)
    gradient_checkpointing: bool = False
    # Sequence handling.
    max_seq_length: int | None = None  # None: the longest row, capped by the model's context
    overlength: str = "drop"  # rows longer than max_seq_length: drop (reported), error, or truncate (reported)
    max_tokens_per_batch: int = 4096  # bound on tokens in one batch (padded: rows x longest); lifted to max_seq_length
    packing: bool = True  # padding-free: rows concatenated, position ids restart per row
    # Frozen bottom: the input embeddings (with a tied output layer) and the first N decoder layers keep their
    # weights; the backward pass stops above them, so a step costs less (1 + 2 x trained share of the layers).
    freeze_layers: int = 0
    # LoRA (peft), merged into the base weights on export.
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = "all-linear"  # or a comma-separated list, e.g. q_proj,v_proj
    # Logging, checkpoints, evaluation, export.
    logging_steps: int = 10
    report_to: str = "none"  # experiment trackers, comma-separated: tensorboard, wandb, mlflow (train/tracking.py); or none
    save_steps: int = 500
    save_total_limit: int | None = 2
    keep_checkpoints: bool = True  # False: delete OUT/checkpoints once the export is written
    eval_strategy: str = "auto"  # auto: once per epoch when validation.jsonl exists; no | steps | epoch
    eval_steps: int | None = None
    max_eval_rows: int | None = 1000
    export_dtype: str | None = None  # None: the training dtype
    threads: int | None = None  # torch CPU threads per process (None: torch's default)
    max_minutes: float | None = None  # wall-clock budget for optimisation; stops after the step that crosses it

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def diff(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: ``{name: (self's, other's)}``."""
        mine, theirs = self.to_json(), other.to_json()
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}


# The study's recipe is the dataclass default; other recipes change only what they name.
RECIPES: dict[str, dict[str, Any]] = {
    "paper": {},
    # A short single-process run for demos and smoke tests on a CPU: no DeepSpeed, one epoch, a higher learning rate
    # and a 10 % warm-up so that a few hundred rows visibly move the loss; a small validation sample, and no
    # checkpoints left behind once the model is exported (a SmolLM2-135M checkpoint with optimizer state is 1.6 GB).
    "quick": {
        "deepspeed": "none",
        "learning_rate": 1e-4,
        "warmup_steps": 0.1,
        "epochs": 1.0,
        "logging_steps": 1,
        "save_steps": 50,
        "save_total_limit": 1,
        "keep_checkpoints": False,
        "max_eval_rows": 32,
    },
}

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_HINTS = typing.get_type_hints(TrainConfig)


def field_names() -> list[str]:
    return list(FIELDS)


def normalise_key(key: str) -> str:
    return key.strip().replace("-", "_")


def coerce(name: str, value: Any) -> Any:
    """``value`` (often text from the command line) converted to the type of field ``name``."""
    if name not in FIELDS:
        close = difflib.get_close_matches(name, FIELDS, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise MedTunedError(f"unknown training setting {name!r}.{hint}")
    hint = _HINTS[name]
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("none", "null", "")):
        if optional:
            return None
        raise MedTunedError(f"setting {name!r} cannot be empty")
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(float(value)) if isinstance(value, str) and any(c in value for c in ".eE") else int(value)
        if base is float:
            return float(value)
        if isinstance(value, list | tuple):  # a list in a config file, for a comma-separated setting
            return ",".join(str(v) for v in value)
        return str(value)
    except (TypeError, ValueError):
        raise MedTunedError(f"setting {name!r} expects {base.__name__}, got {value!r}") from None


def parse_overrides(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts to typed settings (keys may use dashes)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise MedTunedError(f"override {pair!r}: expected KEY=VALUE, e.g. learning_rate=2e-5")
        name = normalise_key(key)
        out[name] = coerce(name, value)
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON (or, with PyYAML installed, YAML) mapping of settings."""
    path = Path(path)
    text = read_text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise MedTunedError(f"{path}: reading YAML needs PyYAML (pip install pyyaml), or write the config as JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MedTunedError(f"{path}: invalid YAML ({exc})") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MedTunedError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise MedTunedError(f"{path}: expected a mapping of training settings")
    return {normalise_key(k): coerce(normalise_key(k), v) for k, v in data.items()}


def make_config(
    recipe: str = "paper",
    *,
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> TrainConfig:
    """The effective configuration: recipe < config file < overrides < flags (``None`` flags are ignored)."""
    file_values = read_config_file(config_file) if config_file else {}
    recipe = (flags or {}).get("recipe") or (overrides or {}).get("recipe") or file_values.get("recipe") or recipe
    if recipe not in RECIPES:
        raise MedTunedError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    values: dict[str, Any] = {**RECIPES[recipe], "recipe": recipe}
    values.update(file_values)
    values.update({normalise_key(k): coerce(normalise_key(k), v) for k, v in (overrides or {}).items()})
    values.update({normalise_key(k): coerce(normalise_key(k), v) for k, v in (flags or {}).items() if v is not None})
    config = TrainConfig(**values)
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    """Reject settings that cannot work, with the reason (paths are checked when the run starts)."""
    problems = []
    if config.deepspeed not in DEEPSPEED_CHOICES and not config.deepspeed.endswith(".json"):
        problems.append(f"deepspeed must be one of {', '.join(DEEPSPEED_CHOICES)} or a .json file, got {config.deepspeed!r}")
    if config.format not in FORMATS:
        problems.append(f"format must be one of {', '.join(FORMATS)}, got {config.format!r}")
    elif config.system_prompt is not None and config.format != "chat":
        problems.append("system_prompt needs format=chat (the Alpaca format has no system turn)")
    if config.overlength not in OVERLENGTH_CHOICES:
        problems.append(f"overlength must be one of {', '.join(OVERLENGTH_CHOICES)}")
    if config.precision not in PRECISION_CHOICES:
        problems.append(f"precision must be one of {', '.join(PRECISION_CHOICES)}")
    if config.eval_strategy not in ("auto", "no", "steps", "epoch"):
        problems.append("eval_strategy must be auto, no, steps or epoch")
    if config.eval_strategy == "steps" and not config.eval_steps:
        problems.append("eval_strategy=steps needs eval_steps")
    for name in ("per_device_batch_size", "gradient_accumulation_steps", "max_tokens_per_batch", "logging_steps", "save_steps", "lora_r"):
        if getattr(config, name) < 1:
            problems.append(f"{name} must be at least 1")
    if config.freeze_layers < 0:
        problems.append("freeze_layers must be >= 0")
    elif config.freeze_layers and config.lora:
        problems.append("freeze_layers and lora are two ways to train part of the model: choose one")
    if config.max_seq_length is not None and config.max_seq_length < 2:
        problems.append("max_seq_length must be at least 2")
    if config.learning_rate <= 0:
        problems.append("learning_rate must be positive")
    if config.epochs <= 0 and config.max_steps <= 0:
        problems.append("set epochs > 0 or max_steps > 0")
    if config.warmup_steps < 0:
        problems.append("warmup_steps must be >= 0")
    if config.max_minutes is not None and config.max_minutes <= 0:
        problems.append("max_minutes must be positive")
    try:
        parse_trackers(config.report_to)
    except MedTunedError as exc:
        problems.append(str(exc))
    if problems:
        raise MedTunedError("invalid training configuration: " + "; ".join(problems))


def require_paths(config: TrainConfig) -> None:
    missing = [name for name in ("model", "data", "out") if not getattr(config, name)]
    if missing:
        raise MedTunedError(f"missing {', '.join('--' + m for m in missing)} (flags or config file)")
