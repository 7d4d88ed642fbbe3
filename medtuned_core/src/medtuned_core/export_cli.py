"""``medtuned export``: MedTuned tasks in other tools' formats (today: ``lm-eval``, lm-evaluation-harness)."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import data_dir_option, option_option, parse_options, templates_option
from .evaluate.cli import format_option, system_prompt_option


@click.group()
def export() -> None:
    """Write MedTuned tasks for other evaluation tools. (A trained model is exported by `medtuned train`.)"""


@export.command("lm-eval")
@click.option("--tasks", required=True, help="Comma-separated task names (`medtuned list-tasks`).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="The folder to pass to lm_eval --include_path.")
@data_dir_option
@click.option("--split", default="test", show_default=True)
@format_option
@click.option("--model", help="The model the tasks will be run with (folder, hub id or alias): its tokenizer renders --format chat and sizes budgets.")
@system_prompt_option
@click.option(
    "--mode",
    type=click.Choice(["score", "generate"]),
    default="score",
    show_default=True,
    help="score: tasks with a fixed choice set as multiple_choice (log-likelihood ranking); generate: every task generates.",
)
@click.option("--limit", type=click.IntRange(min=1), help="A fixed sample of N rows per task (the sample `medtuned evaluate --limit N` takes).")
@click.option("--seed", default=0, show_default=True, help="Seed of the sample and of the templates.")
@click.option(
    "--max-new-tokens",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Generation tasks: the largest budget (with --model, each task gets the largest budget MedTuned would give its rows).",
)
@templates_option
@option_option
def lm_eval(
    tasks: str,
    out: Path,
    data_dir: Path | None,
    split: str,
    prompt_format: str,
    model: str | None,
    system_prompt: str | None,
    mode: str,
    limit: int | None,
    seed: int,
    max_new_tokens: int,
    templates: Path | None,
    options: tuple[str, ...],
) -> None:
    """Write tasks lm-evaluation-harness runs with `lm_eval --include_path OUT --tasks medtuned_<task>` (docs/evaluation.md).

    The prompts are rendered in the format `medtuned evaluate` would use for --model (alpaca without --model)."""
    from .cli import registry
    from .lm_eval_export import TAG, export_lm_eval

    exported = export_lm_eval(
        tasks,
        out,
        data_dir,
        split,
        prompt_format=prompt_format,
        model=model,
        system_prompt=system_prompt,
        mode=mode,
        limit=limit,
        seed=seed,
        templates=templates,
        options=parse_options(options),
        max_new_tokens=max_new_tokens,
        registry=registry(),
    )
    for e in exported:
        budget = f", max_gen_toks {e.max_gen_toks}" if e.max_gen_toks else ""
        why = f" ({e.reason})" if e.reason else ""
        click.echo(f"{e.name}: {e.output_type}{why}, {e.docs} docs, metrics {', '.join(e.metrics)}{budget} -> {e.yaml_path}", err=True)
    names = ",".join(e.name for e in exported)
    click.echo(
        f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {out} --tasks {names}   (or --tasks {TAG}: every exported task)", err=True
    )
