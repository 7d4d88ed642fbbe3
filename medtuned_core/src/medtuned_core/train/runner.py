"""One training run end to end: data -> HF Trainer (optionally DeepSpeed, LoRA) -> metrics, plot, export.

Run folder layout (``config.out``)::

    run_config.json      the effective configuration (rewritten on resume)
    length_report.json   sequence length chosen and rows over it
    events.jsonl         one line per train start/end (step at start shows where a resume picked up)
    checkpoints/         checkpoint-N folders (the Trainer's; DeepSpeed shards inside); N is the optimizer step
    metrics.json         log history and summary
    loss_curve.png
    model/               the consolidated export (safetensors, tokenizer, generation config, README.md model card)
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..jsonl import atomic_writer, dumps
from ..ownership import owns_output
from ..prompt import PromptFormat, make_format
from . import distributed as dist_utils
from .attention import use_packed_attention
from .data import ExampleDataset, LengthReport, TokenBudgetBatchSampler, apply_length_limit, encode_rows, make_collator, read_rows, supports_label_positions
from .outdir import RUN_CONFIG, changed_settings, claim_run_folder
from .recipe import TrainConfig, make_config, require_paths, validate
from .schedule import BUDGET_SCHEDULES, BudgetSchedule
from .tracking import finish_wandb, own_wandb_run, parse_trackers, place_logs, require_packages

CHECKPOINT_MARKER = "medtuned_checkpoint_complete"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
EXPORT_NAME = "model"


class Console:
    """Rich output on the main process only (other ranks stay quiet)."""

    def __init__(self, enabled: bool):
        from rich.console import Console as RichConsole

        self.enabled = enabled
        self.rich = RichConsole(stderr=True, highlight=False)
        if not self.rich.is_terminal:
            self.rich.width = 160  # log files: one line per log entry

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self.enabled:
            self.rich.print(*args, **kwargs)


def train(config: TrainConfig | Mapping[str, Any], *, overwrite: bool = False) -> Path:
    """Python API: run training and return the exported model folder.

    ``config`` is a :class:`TrainConfig` or a mapping of settings (``recipe`` picks the defaults), e.g.
    ``train({"recipe": "quick", "model": "smollm2-135m", "data": "build/", "out": "runs/a"})``.
    """
    if not isinstance(config, TrainConfig):
        settings = dict(config)
        config = make_config(settings.pop("recipe", "paper"), overrides=settings)
    return run_training(config, overwrite=overwrite)


# ---- checkpoints -------------------------------------------------------------------------------------------------


def list_checkpoints(folder: Path) -> list[tuple[int, Path, bool]]:
    """``(step, path, complete)`` sorted by step; complete = our marker written after the Trainer finished saving."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _CHECKPOINT_RE.match(path.name)
        if match and path.is_dir():
            found.append((int(match.group(1)), path, (path / CHECKPOINT_MARKER).is_file()))
    return sorted(found)


def select_checkpoint(folder: Path, resume: bool) -> Path | None:
    """The last complete checkpoint to resume from; refuses to train over checkpoints without ``resume``."""
    checkpoints = list_checkpoints(folder)
    if not resume:
        if checkpoints:
            raise MedTunedError(f"{folder} already holds checkpoints: pass --resume to continue that run, or choose a new --out")
        return None
    complete = [path for _, path, ok in checkpoints if ok]
    return complete[-1] if complete else None


def discard_incomplete(folder: Path, after: Path | None) -> list[Path]:
    """Remove checkpoints newer than the one resumed from (a kill while saving leaves them half written)."""
    start = int(_CHECKPOINT_RE.match(after.name).group(1)) if after else -1
    removed = []
    for step, path, _ in list_checkpoints(folder):
        if step > start:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


# ---- precision ---------------------------------------------------------------------------------------------------


def resolve_precision(precision: str) -> str:
    """``auto`` -> bf16 on a GPU with bf16, fp16 on other GPUs, fp32 on CPU."""
    if precision != "auto":
        if precision == "fp16" and not dist_utils.has_cuda():
            raise MedTunedError(
                "precision=fp16 needs a GPU; on CPU use fp32 (auto) or bf16 (bf16 weights with fp32 master weights, fast on CPUs with AVX512-BF16/AMX)"
            )
        return precision
    import torch

    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def uses_master_weights(config: TrainConfig, precision: str, ds_config: dict[str, Any] | None) -> bool:
    """bf16 weights with fp32 master weights in the optimizer (train/precision.py): bf16 runs without DeepSpeed
    (whose own bf16 optimizer does the same) and without LoRA, unless ``bf16_weights`` is off (autocast)."""
    return precision == "bf16" and ds_config is None and not config.lora and config.bf16_weights


def load_dtype(precision: str, lora: bool, master_weights: bool = False):
    """Weights stay fp32 when they are trained without an fp32 master copy: a 1e-5 step is below bf16's
    resolution. With master weights (or frozen, as LoRA's base) they live in the half type."""
    import torch

    if master_weights or (lora and precision == "bf16"):
        return torch.bfloat16
    if lora and precision == "fp16":
        return torch.float16
    return torch.float32


# ---- the Trainer ---------------------------------------------------------------------------------------------------


def make_trainer_class():
    """The HF Trainer with token-budget batches (built lazily: importing transformers is slow)."""
    import torch
    from torch.utils.data import DataLoader
    from transformers import Trainer

    from .precision import MasterWeightAdamW

    class MedTunedTrainer(Trainer):
        def __init__(self, *args: Any, batch_plan: dict[str, Any], budget_schedule: BudgetSchedule | None = None, master_weights: bool = False, **kwargs: Any):
            self.batch_plan = batch_plan
            self.budget_schedule = budget_schedule
            self.master_weights = master_weights
            super().__init__(*args, **kwargs)

        def create_optimizer(self, model=None):
            optimizer = super().create_optimizer(model)
            if self.master_weights and not isinstance(optimizer, MasterWeightAdamW):
                if not isinstance(optimizer, torch.optim.AdamW):
                    raise MedTunedError(f"bf16 weights need AdamW for their fp32 master weights, not {type(optimizer).__name__}")
                self.optimizer = MasterWeightAdamW.replacing(optimizer)
            return self.optimizer

        def create_scheduler(self, num_training_steps: int, optimizer=None):
            if self.budget_schedule is None or self.lr_scheduler is not None:
                return super().create_scheduler(num_training_steps, optimizer)
            from torch.optim.lr_scheduler import LambdaLR

            schedule = self.budget_schedule.start(self.args.get_warmup_steps(num_training_steps), num_training_steps)
            self.lr_scheduler = LambdaLR(optimizer or self.optimizer, schedule)
            self._created_lr_scheduler = True
            return self.lr_scheduler

        def _token_budget_loader(self, dataset: ExampleDataset, shuffle: bool):
            sampler = TokenBudgetBatchSampler(dataset.lengths(), shuffle=shuffle, **self.batch_plan)
            loader = DataLoader(dataset, batch_sampler=sampler, collate_fn=self.data_collator, num_workers=0)
            return self.accelerator.prepare(loader)

        def get_train_dataloader(self):
            return self._token_budget_loader(self.train_dataset, shuffle=True)

        def get_eval_dataloader(self, eval_dataset=None):
            return self._token_budget_loader(eval_dataset if eval_dataset is not None else self.eval_dataset, shuffle=False)

    return MedTunedTrainer


LOG_KEYS = ("loss", "eval_loss", "train_loss", "learning_rate", "grad_norm", "train_tokens_per_second")


def format_log(logs: Mapping[str, Any]) -> str:
    """The figures worth a line: losses, learning rate, gradient norm, throughput."""
    shown = []
    for key in LOG_KEYS:
        if key in logs and isinstance(logs[key], int | float):
            value = logs[key]
            shown.append(f"{key} {value:.3e}" if key == "learning_rate" else f"{key} {value:.4g}")
    return "  ".join(shown)


def make_callbacks(out: Path, console: Console, resumed_from: Path | None, max_minutes: float | None = None, budget: BudgetSchedule | None = None):
    from transformers import TrainerCallback

    main = dist_utils.is_main_process()

    def _expected_steps(state) -> int:
        """Where the run will end: max_steps, or under a time budget the step the clock is expected to allow."""
        return state.max_steps if budget is None else min(state.max_steps, budget.planned_steps)

    class RunLog(TrainerCallback):
        """Progress bar and loss lines through rich (main process); start/end events with the global step, so a
        resumed run's starting point is on record; a marker in each checkpoint once the Trainer finished writing it."""

        progress = None
        task = None

        def _event(self, **fields: Any) -> None:
            if main:
                with (out / "events.jsonl").open("a", encoding="utf-8") as fh:
                    fh.write(dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields}) + "\n")

        def on_train_begin(self, args, state, control, **kwargs):
            self._event(event="train_begin", global_step=state.global_step, max_steps=state.max_steps, resumed_from=resumed_from.name if resumed_from else None)
            where = f"resuming at step {state.global_step} ({resumed_from.name})" if resumed_from else "starting at step 0"
            until = f", or until the {max_minutes:g}-minute budget ends" if max_minutes else ""
            console.print(f"[bold]training[/]: {where} of {state.max_steps}{until}")
            if main and console.rich.is_terminal:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

                self.progress = Progress(
                    TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=console.rich
                )
                self.progress.start()
                self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.update(self.task, completed=state.global_step, total=_expected_steps(state))

        def on_log(self, args, state, control, logs=None, **kwargs):
            line = format_log(logs or {})
            if line:
                expected = _expected_steps(state)
                shown = expected if expected == state.max_steps else f"~{expected}"  # ~: the budget's estimate
                console.print(f"step {state.global_step}/{shown}  epoch {state.epoch or 0:.2f}  {line}")

        def on_save(self, args, state, control, **kwargs):
            if main:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    (folder / CHECKPOINT_MARKER).write_text(str(state.global_step) + "\n", encoding="utf-8")

        def on_train_end(self, args, state, control, **kwargs):
            if self.progress is not None:
                self.progress.stop()
            self._event(event="train_end", global_step=state.global_step)

    class TimeBudget(TrainerCallback):
        """Stop after the step that crosses ``max_minutes`` of optimisation (a bounded demo or calibration run),
        and keep the budget's learning-rate schedule informed of the pace.

        Ranks agree on the elapsed time through an all-reduce, so no process waits for a collective another
        has left and every rank plans the same learning rate."""

        started = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            elapsed = time.perf_counter() - self.started
            if dist_utils.world_size() > 1:
                import torch
                import torch.distributed as dist

                clock = torch.tensor([elapsed], dtype=torch.float64)
                dist.all_reduce(clock, op=dist.ReduceOp.MAX)
                elapsed = float(clock.item())
            if budget is not None:
                budget.update(state.global_step, elapsed)
            if elapsed > max_minutes * 60:
                console.print(f"time budget of {max_minutes:g} min reached at step {state.global_step}: stopping")
                control.should_training_stop = True
                control.should_save = True

    return [RunLog()] + ([TimeBudget()] if max_minutes else [])


def training_arguments(
    config: TrainConfig,
    ds_config: dict[str, Any] | None,
    checkpoints: Path,
    precision: str,
    has_eval: bool,
    configured_state: bool,
    master_weights: bool = False,
):
    import sys

    import torch
    from transformers import TrainingArguments

    eval_strategy = config.eval_strategy if config.eval_strategy != "auto" else ("epoch" if has_eval else "no")
    if not has_eval:
        eval_strategy = "no"
    warmup: dict[str, Any] = {"warmup_steps": config.warmup_steps}
    if 0 < config.warmup_steps < 1 and "warmup_ratio" in TrainingArguments.__dataclass_fields__:
        warmup = {"warmup_ratio": config.warmup_steps}  # older transformers: a fraction goes in warmup_ratio
    elif config.warmup_steps >= 1:
        warmup = {"warmup_steps": int(config.warmup_steps)}
    kwargs: dict[str, Any] = {
        "output_dir": str(checkpoints),
        "per_device_train_batch_size": config.per_device_batch_size,
        "per_device_eval_batch_size": config.per_device_batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "learning_rate": config.learning_rate,
        "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "lr_scheduler_type": config.lr_scheduler,
        **warmup,
        "logging_steps": config.logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "eval_strategy": eval_strategy,
        "eval_steps": config.eval_steps,
        "prediction_loss_only": True,  # never gather logits (vocab x tokens) during evaluation
        "bf16": precision == "bf16" and not master_weights,  # bf16 weights compute in bf16 without autocast
        "fp16": precision == "fp16",
        "seed": config.seed,
        "data_seed": config.seed,
        "deepspeed": ds_config,
        "report_to": parse_trackers(config.report_to) or "none",
        "run_name": Path(config.out).name,  # what W&B and MLflow call the run
        "remove_unused_columns": False,
        "dataloader_num_workers": 0,
        "include_num_input_tokens_seen": True,
        "disable_tqdm": not sys.stderr.isatty(),
        "use_cpu": not torch.cuda.is_available(),
    }
    # transformers 5 renamed gradient_checkpointing to activation_checkpointing.
    fields = TrainingArguments.__dataclass_fields__
    kwargs["activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"] = config.gradient_checkpointing
    if configured_state:
        kwargs["accelerator_config"] = {"use_configured_state": True}
    return TrainingArguments(**kwargs)


def budget_schedule(config: TrainConfig) -> BudgetSchedule | None:
    """With ``max_minutes`` and a linear or cosine schedule, the decay ends with the budget (train/schedule.py)."""
    if not config.max_minutes or config.lr_scheduler not in BUDGET_SCHEDULES:
        return None
    return BudgetSchedule(config.lr_scheduler, config.max_minutes * 60)


def freeze_bottom(model, layers: int) -> int:
    """Freeze the input embeddings and the first ``layers`` decoder layers; the number of parameters frozen.

    Nothing below the lowest trained layer needs a gradient, so autograd stops there: a step skips the frozen
    layers' backward entirely, not only their weight gradients (LoRA still back-propagates through every layer)."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    stack = getattr(decoder, "layers", None)
    if stack is None or not hasattr(model, "get_input_embeddings"):
        raise MedTunedError(f"freeze_layers: cannot find the decoder layers of {type(model).__name__}")
    if layers >= len(stack):
        raise MedTunedError(f"freeze_layers={layers} would freeze all {len(stack)} decoder layers")
    frozen = 0
    for module in (model.get_input_embeddings(), *stack[:layers]):
        for p in module.parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen


def apply_lora(model, config: TrainConfig):
    from peft import LoraConfig, get_peft_model

    targets: str | list[str] = config.lora_target_modules
    if targets != "all-linear":
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout, target_modules=targets, task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


# ---- the run -------------------------------------------------------------------------------------------------------


def model_context(model_path: str) -> int | None:
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(model_path)
    return getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)


def write_json(path: Path, obj: Any) -> None:
    with atomic_writer(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def show_config(console: Console, config: TrainConfig, extra: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"medtuned train: recipe {config.recipe}", show_header=True)
    table.add_column("setting")
    table.add_column("value")
    for key, value in {**config.to_json(), **extra}.items():
        table.add_row(key, str(value))
    console.print(table)


@owns_output(lambda config, **_: config.out if dist_utils.is_main_process() else None)
def run_training(config: TrainConfig, *, dry_run: bool = False, overwrite: bool = False) -> Path:
    """Train per ``config``; returns ``OUT/model`` (or ``OUT`` for a dry run, which stops after the length report).

    The run owns ``OUT`` while it runs, and writes there only by the rules of :mod:`.outdir` (``overwrite``
    starts over in a folder holding an earlier run)."""
    validate(config)
    require_paths(config)
    trackers = parse_trackers(config.report_to)
    require_packages(trackers)
    out, data_dir = Path(config.out).expanduser(), Path(config.data).expanduser()
    if not (data_dir / "train.jsonl").is_file():
        raise MedTunedError(f"{data_dir}: no train.jsonl (pass the output folder of `medtuned build`)")
    if dist_utils.is_main_process():
        claim_run_folder(out, config.to_json(), resume=config.resume, overwrite=overwrite)
    ds_config = dist_utils.load_deepspeed_config(config.deepspeed)
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    main = dist_utils.is_main_process()
    console = Console(main)
    checkpoints = out / "checkpoints"
    resume_from = select_checkpoint(checkpoints, config.resume)
    precision = resolve_precision(config.precision)

    from ..models import load_model_and_tokenizer, load_tokenizer, resolve_model

    model_path = resolve_model(config.model)
    tokenizer = load_tokenizer(model_path, for_training=True)
    fmt = make_format(config.format, tokenizer, config.system_prompt)
    context = model_context(model_path)
    examples, report = apply_length_limit(encode_rows(tokenizer, read_rows(data_dir / "train.jsonl"), fmt), context, config.max_seq_length, config.overlength)
    eval_examples, eval_report = _validation(config, data_dir, tokenizer, report, fmt)
    max_tokens = max(config.max_tokens_per_batch, report.max_seq_length)
    runtime = {
        "world_size": dist_utils.world_size(),
        "precision (resolved)": precision + (" (bf16 weights, fp32 master weights)" if uses_master_weights(config, precision, ds_config) else ""),
        "zero stage": dist_utils.zero_stage(ds_config),
        "resolved model": model_path,
        "max_tokens_per_batch (effective)": max_tokens,
        "validation rows": len(eval_examples),
    }
    show_config(console, config, runtime)
    console.print(report.summary())
    if main:
        out.mkdir(parents=True, exist_ok=True)
        previous = out / RUN_CONFIG
        if config.resume and previous.is_file():
            changed = changed_settings(out, config.to_json())
            if changed:
                console.print(f"[yellow]resuming with changed settings[/]: {changed}")
        write_json(previous, {"config": config.to_json(), "runtime": runtime})
        write_json(out / "length_report.json", {"train": report.to_json(), "validation": eval_report.to_json() if eval_report else None})
    if dry_run:
        return out

    configured_state = dist_utils.prepare_process_group(ds_config is not None, config.threads)
    master_weights = uses_master_weights(config, precision, ds_config)
    args = training_arguments(config, ds_config, checkpoints, precision, bool(eval_examples), configured_state, master_weights)
    # The model loads after TrainingArguments: under ZeRO-3 transformers then partitions the weights while loading.
    model, tokenizer = load_model_and_tokenizer(model_path, dtype=load_dtype(precision, config.lora, master_weights), for_training=True)
    if config.packing and use_packed_attention(model):
        console.print("attention: per-example causal SDPA on packed rows (varlen)")
    if config.lora:
        model = apply_lora(model, config)
    if config.freeze_layers:
        frozen = freeze_bottom(model, config.freeze_layers)
        console.print(f"frozen: the input embeddings and the first {config.freeze_layers} decoder layers ({frozen / 1e6:.1f} M parameters)")
    if main and resume_from is not None:
        for path in discard_incomplete(checkpoints, resume_from):
            console.print(f"discarded incomplete checkpoint {path.name}")
    elif main and config.resume:
        console.print("[yellow]--resume: no complete checkpoint found, starting from step 0[/]")
    dist_utils.barrier()
    budget = budget_schedule(config)
    trainer_class = make_trainer_class()
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=ExampleDataset(examples),
        eval_dataset=ExampleDataset(eval_examples) if eval_examples else None,
        data_collator=make_collator(tokenizer, packing=config.packing, label_positions=supports_label_positions(model)),
        processing_class=tokenizer,
        callbacks=make_callbacks(out, console, resume_from, config.max_minutes, budget),
        budget_schedule=budget,
        master_weights=master_weights,
        batch_plan={"max_rows": config.per_device_batch_size, "max_tokens": max_tokens, "padded": not config.packing, "seed": config.seed},
    )
    # Our RunLog shows progress and losses; the Trainer's printer/tqdm callbacks would print every log dict again.
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if "tensorboard" in trackers:
        place_logs(trainer, out)
    finish_tracking = own_wandb_run(trackers)
    try:
        return _train_and_export(trainer, config, model_path, out, resume_from, eval_examples, report, tokenizer, console, fmt)
    finally:
        if finish_tracking:
            finish_wandb()


def _train_and_export(
    trainer, config: TrainConfig, model_path: str, out: Path, resume_from: Path | None, eval_examples, report, tokenizer, console, fmt: PromptFormat
) -> Path:
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    summary: dict[str, Any] = {
        "train_loss": result.training_loss,
        "global_step": result.global_step,
        "seconds": round(time.perf_counter() - started, 2),
        **result.metrics,
    }
    evaluated = [e for e in trainer.state.log_history if "eval_loss" in e]
    if eval_examples and (not evaluated or evaluated[-1].get("step") != trainer.state.global_step):
        summary.update(trainer.evaluate())
    elif evaluated:
        summary["eval_loss"] = evaluated[-1]["eval_loss"]
    from .export import export_run

    return export_run(trainer, config, model_path, out, summary, report, tokenizer, console, fmt)


def _validation(config: TrainConfig, data_dir: Path, tokenizer, train_report: LengthReport, fmt: PromptFormat):
    """Validation rows for the eval loss, at the training length (rows over it are dropped and counted)."""
    path = data_dir / "validation.jsonl"
    if config.eval_strategy == "no" or not path.is_file():
        return [], None
    rows = read_rows(path)
    if config.max_eval_rows is not None:
        rows = rows[: config.max_eval_rows]
    action = "drop" if config.overlength == "error" else config.overlength
    return apply_length_limit(encode_rows(tokenizer, rows, fmt), None, train_report.max_seq_length, action)
