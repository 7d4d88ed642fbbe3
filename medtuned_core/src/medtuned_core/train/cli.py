"""The ``medtuned train`` command."""

from __future__ import annotations

from pathlib import Path

import click

from ..prompt import FORMATS
from .recipe import DEEPSPEED_CHOICES, RECIPES, make_config, parse_overrides


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--model", help="Base model: a local HF folder, a hub id, or the alias smollm2-135m.")
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), help="A `medtuned build` output folder (train.jsonl, ...).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Run folder (checkpoints, metrics, model/).")
@click.option("--recipe", type=click.Choice(sorted(RECIPES)), help="Defaults to start from (paper: the study's recipe).  [default: paper]")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSON/YAML file of settings.")
@click.option("--deepspeed", metavar="|".join(DEEPSPEED_CHOICES) + "|FILE.json", help="DeepSpeed ZeRO config (recipe paper: zero3).")
@click.option(
    "--format",
    "format",
    type=click.Choice(FORMATS),
    help="Prompt format: alpaca (the study's Instruction/Input/Output blocks) or chat (the tokenizer's chat template; the answer is the assistant turn).  [default: alpaca]",
)
@click.option("--system-prompt", help="chat: a system turn for every row (default: the template's own, if any).")
@click.option("--lora/--no-lora", default=None, help="Train LoRA adapters (peft), merged into the weights on export.")
@click.option("--resume", is_flag=True, default=None, help="Continue from the last complete checkpoint in OUT/checkpoints.")
@click.option("--overwrite", is_flag=True, help="Start over in an OUT that holds an earlier run (only medtuned's own files there are replaced).")
@click.option("--max-steps", type=int, help="Stop after N optimizer steps (overrides epochs).")
@click.option("--epochs", type=float)
@click.option("--learning-rate", type=float)
@click.option("--batch-size", "per_device_batch_size", type=int, help="Rows per device batch.")
@click.option("--grad-accum", "gradient_accumulation_steps", type=int)
@click.option("--max-seq-length", type=int, help="Default: the longest row, capped by the model's context.")
@click.option("--max-tokens-per-batch", type=int, help="Bound on tokens in one batch (memory).")
@click.option("--packing/--no-packing", default=None, help="Padding-free packed batches (default) or padded batches.")
@click.option("--seed", type=int)
@click.option("--save-steps", type=int)
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp16", "fp32"]))
@click.option("--threads", type=int, help="torch CPU threads per process.")
@click.option(
    "--report-to",
    "report_to",
    multiple=True,
    metavar="tensorboard|wandb|mlflow|none",
    help="Experiment tracker(s) the Trainer logs to; repeat the option or separate with commas. Each needs its extra, e.g. medtuned-core[tensorboard].  [default: none]",
)
@click.option("--dry-run", is_flag=True, help="Print the effective configuration and the length report, then stop.")
@click.argument("overrides", nargs=-1, metavar="[KEY=VALUE]...")
def train(config_file: Path | None, dry_run: bool, overwrite: bool, overrides: tuple[str, ...], **flags) -> None:
    """Fine-tune a causal LM on a build folder: response-only loss, packed batches, resumable, exported as an HF folder.

    Any setting can also be given as KEY=VALUE (e.g. warmup_steps=100 lora_r=8); `--config` reads them from a file.
    Precedence: recipe < --config < KEY=VALUE < flags. Multi-process: run under `deepspeed`, `torchrun` or
    `accelerate launch` (docs/training.md).
    """
    from .runner import run_training

    flags = {k: (str(v) if isinstance(v, Path) else v) for k, v in flags.items()}
    flags["report_to"] = ",".join(flags["report_to"]) or None
    config = make_config(flags.get("recipe") or "paper", config_file=config_file, overrides=parse_overrides(overrides), flags=flags)
    from .distributed import is_main_process

    if overwrite and config.resume:
        raise click.UsageError("--resume continues the run in --out and --overwrite starts over: give one of them")
    result = run_training(config, dry_run=dry_run, overwrite=overwrite)
    if not dry_run and is_main_process():
        click.echo(str(result))
