"""``medtuned evaluate``, ``medtuned predict`` and ``medtuned compare`` (torch and transformers load only when a command runs)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from .. import cli as core_cli
from ..cli import data_dir_option, echo_json, interval_options, interval_text, option_option, parse_options, templates_option
from ..errors import MedTunedError

model_option = click.option("--model", required=True, help="Model folder, hub id, or the alias smollm2-135m.")


class BackendOption(click.Option):
    """``--backend``: its help lists the backends installed now (any plugin's), read when help is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from .backends import collect

        found = collect(core_cli.registry()).found
        listed = ", ".join(name + (" (not installed)" if info.missing else "") for name, info in sorted(found.items()))
        self.help = f"Model backend: {listed}. Plugins add more; `medtuned plugins` describes each."
        return super().get_help_record(ctx)


backend_option = click.option("--backend", cls=BackendOption, default="hf", show_default=True, metavar="NAME")


backend_flags = [
    click.option("--base-url", help="openai: the server's URL, e.g. http://127.0.0.1:8000/v1 (default: the OpenAI API)."),
    click.option(
        "--api-key-env", metavar="VAR", help="openai: the environment variable holding the API key (default OPENAI_API_KEY); the key is never written."
    ),
    click.option(
        "--api", type=click.Choice(["auto", "chat", "completions"]), help="openai: chat or plain completions (auto: chat for the chat prompt format)."
    ),
    click.option("--concurrency", type=int, help="openai: requests in flight (default 4)."),
    click.option("--tensor-parallel-size", type=int, help="vllm: GPUs per model replica."),
    click.option("--data-parallel-size", type=int, help="vllm: replicas, under torchrun (docs/evaluation.md)."),
    click.option(
        "--backend-option", "backend_pairs", multiple=True, metavar="KEY=VALUE", help="Any backend option, e.g. max_retries=2 timeout=60 tokenizer=DIR."
    ),
]


NAMED_BACKEND_OPTIONS = ("base_url", "api_key_env", "api", "concurrency", "tensor_parallel_size", "data_parallel_size")


def with_backend_flags(fn):
    """The backend flags on a command, handed to it as one ``backend_options`` dict: the named flags that were
    given, then ``--backend-option KEY=VALUE``."""

    @functools.wraps(fn)
    def command(**params):
        options = {key: value for key in NAMED_BACKEND_OPTIONS if (value := params.pop(key)) is not None}
        options |= {k.replace("-", "_"): v for k, v in parse_options(params.pop("backend_pairs")).items()}
        return fn(backend_options=options, **params)

    for flag in reversed(backend_flags):
        command = flag(command)
    return command


format_option = click.option(
    "--format",
    "prompt_format",
    type=click.Choice(["auto", "alpaca", "chat"]),
    default="auto",
    show_default=True,
    help="Prompt format. auto: the format a MedTuned export records (medtuned.json); for any other model chat when its tokenizer has a chat template, else alpaca.",
)
system_prompt_option = click.option("--system-prompt", help="chat: a system turn (default: what the export records, else the template's own default).")
dtype_option = click.option(
    "--dtype",
    default="auto",
    show_default=True,
    help="float32, bfloat16, float16 or auto: bfloat16 on a GPU that has it (else float16) and on a CPU with AMX or AVX-512 BF16, else float32.",
)
threads_option = click.option("--threads", type=int, help="torch CPU threads (default: torch's choice).")


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


@click.command()
@model_option
@click.option("--tasks", help="Comma-separated task names.")
@click.option("--family", help="Every task of this family (ner, re, nli, cls, qa...).")
@data_dir_option
@click.option("--split", default="test", show_default=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder (resumes if it holds this run).")
@click.option("--limit", type=click.IntRange(min=1), help="A fixed sample of N examples of each task, chosen by --seed (a larger N keeps the smaller sample).")
@click.option(
    "--mode",
    type=click.Choice(["generate", "score"]),
    default="generate",
    show_default=True,
    help="score: constrained labels / ranked choices where the task allows.",
)
@format_option
@system_prompt_option
@backend_option
@with_backend_flags
@click.option("--batch-size", default=8, show_default=True)
@templates_option
@option_option
@click.option("--seed", default=0, show_default=True, help="Template choice seed.")
@dtype_option
@click.option("--max-new-tokens", default=512, show_default=True, help="Upper bound of the generation budget.")
@click.option(
    "--tagging",
    type=click.Choice(["verify", "incremental"]),
    default="verify",
    show_default=True,
    help="Exact constrained greedy by verify-and-fix passes, or one call per word.",
)
@click.option("--lookahead", type=int, help="verify: labels guessed per pass (default: no limit).")
@click.option("--chunk-tokens", type=int, help="verify: tokens per row per pass (default: 32 on CPU, the whole remaining answer on a GPU).")
@click.option(
    "--choice-scoring",
    type=click.Choice(["greedy", "loglik", "loglik-norm", "loglik-eos"]),
    default="greedy",
    show_default=True,
    help="score: how a choice is picked (the primary score; every scoring is in metrics.json). greedy: constrained greedy decoding, "
    "the valid answer generation would give; loglik: log-likelihood of the choice (lm-eval's acc); loglik-norm: per character (acc_norm); "
    "loglik-eos: with the answer end.",
)
@click.option(
    "--permute-choices",
    type=click.Choice(["none", "cyclic"]),
    default="none",
    show_default=True,
    help="Position-bias control: ask every multiple-choice question once per cyclic rotation of its options; "
    "debiased and per-position accuracy go to metrics.json and results.md beside the plain score.",
)
@click.option("--reference", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="JSON of published figures for results.md.")
@click.option("--overwrite", is_flag=True, help="Discard predictions already in --out.")
@interval_options
@threads_option
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
def evaluate(
    model: str,
    tasks: str | None,
    family: str | None,
    data_dir: Path | None,
    split: str,
    out: Path,
    limit: int | None,
    mode: str,
    prompt_format: str,
    system_prompt: str | None,
    backend: str,
    backend_options: dict[str, object],
    batch_size: int,
    templates: Path | None,
    options: tuple[str, ...],
    seed: int,
    dtype: str,
    max_new_tokens: int,
    tagging: str,
    lookahead: int | None,
    chunk_tokens: int | None,
    choice_scoring: str,
    permute_choices: str,
    reference: Path | None,
    overwrite: bool,
    n_boot: int,
    ci_level: float,
    threads: int | None,
    as_json: bool,
) -> None:
    """Run a model on task splits, parse and score its answers; write predictions, metrics and tables to --out."""
    from .runner import evaluate as run

    if not tasks and not family:
        raise MedTunedError("choose tasks: --tasks a,b or --family ner")
    _set_threads(threads)
    metrics = run(
        model,
        tasks,
        data_dir,
        split,
        out,
        mode,
        limit,
        family=family,
        backend=backend,
        batch_size=batch_size,
        templates=templates,
        seed=seed,
        options=parse_options(options),
        dtype=None if dtype == "auto" else dtype,
        prompt_format=prompt_format,
        system_prompt=system_prompt,
        max_new_tokens=max_new_tokens,
        tagging=tagging,
        lookahead=lookahead,
        chunk_tokens="auto" if chunk_tokens is None else chunk_tokens,
        choice_scoring=choice_scoring,
        permute_choices=permute_choices,
        reference=reference,
        overwrite=overwrite,
        registry=core_cli.registry(),
        n_boot=n_boot,
        ci=ci_level,
        backend_options=backend_options,
    )
    if as_json:
        echo_json(metrics)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{metrics['run']['model_label']} · {split} · {mode} · {metrics['run']['format']} format")
        for col in ("task", "metric", "score", f"{100 * ci_level:g}% CI", "n", "unparsed", "ex/s"):
            table.add_column(col, no_wrap=col.endswith("CI"))
        for name, r in metrics["tasks"].items():
            speed = "—" if r.get("examples_per_s") is None else f"{r['examples_per_s']:.2f}"
            if "error" in r:
                table.add_row(name, "[red]error[/]", "—", "—", str(r["n"]), "—", speed)
            else:
                table.add_row(name, str(r["metric"]), f"{r['score']:.4f}", interval_text(r), str(r["n"]), str(r["unparsed"]), speed)
        Console().print(table)
        click.echo(f"wrote {out}/predictions.jsonl, metrics.json, results.md, results.png", err=True)
    core_cli.exit_if_failed(metrics["tasks"])


@click.command()
@model_option
@click.option("--task", required=True, help="The task to apply, e.g. ncbi-disease.")
@click.argument("text", required=False)
@click.option(
    "--file", "file", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Text file: one input per line (TAB between the parts of a pair)."
)
@click.option("--mode", type=click.Choice(["generate", "score"]), default="score", show_default=True)
@data_dir_option
@templates_option
@format_option
@system_prompt_option
@backend_option
@dtype_option
@threads_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def predict(
    model: str,
    task: str,
    text: str | None,
    file: Path | None,
    mode: str,
    prompt_format: str,
    system_prompt: str | None,
    data_dir: Path | None,
    templates: Path | None,
    backend: str,
    dtype: str,
    threads: int | None,
    as_json: bool,
) -> None:
    """Apply one task to your own text and print the result (entities highlighted, or the label)."""
    from ..io import read_text
    from ..render import load_templates
    from .predict import predict as run

    if (text is None) == (file is None):
        raise MedTunedError("give either TEXT or --file")
    _set_threads(threads)
    if file is not None:
        raw = read_text(file)
        # One input per line for label tasks; a tagging task splits sentences itself, so keep paragraphs.
        texts = [line for line in raw.splitlines() if line.strip()]
    else:
        texts = [text.replace("\\t", "\t")]
    custom = load_templates(templates, known=core_cli.registry(), used_by=[task]) if templates else None
    items = run(
        model,
        task,
        texts,
        mode=mode,
        registry=core_cli.registry(),
        data_dir=data_dir,
        templates=custom,
        backend=backend,
        dtype=None if dtype == "auto" else dtype,
        prompt_format=prompt_format,
        system_prompt=system_prompt,
    )
    if as_json:
        return click.echo(json.dumps(items, indent=2, ensure_ascii=False))
    from rich.console import Console
    from rich.text import Text

    console = Console()
    for item in items:
        if "entities" in item:
            shown = Text(item["source"])
            for ent in item["entities"]:
                shown.stylize("bold black on yellow", ent["start"], ent["end"])
            console.print(shown)
            listed = ", ".join(f"{e['text']}" + (f" ({e['type']})" if e["type"] else "") for e in item["entities"]) or "no entity found"
            console.print(Text(f"  → {listed}", style="dim"))
        else:
            label = item["parsed"] if item["ok"] else f"(unparsed) {item['output'].strip()}"
            console.print(Text(item["input"], style="dim"))
            console.print(Text(f"  → {label}", style="bold"))


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for compare.md, compare.json and compare.png.")
@interval_options
@click.option("--reference", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="JSON of your own published figures, added as columns.")
@click.option("--skip-unpairable", is_flag=True, help="Leave out (and note) pairs of runs that scored different examples instead of stopping.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def compare(runs: tuple[Path, ...], out: Path, n_boot: int, ci_level: float, reference: Path | None, skip_unpairable: bool, as_json: bool) -> None:
    """Leaderboard of evaluation runs (folders written by `medtuned evaluate`) with confidence intervals, and a
    paired test (bootstrap of the difference; McNemar for accuracy) for every two runs of a task."""
    from rich.console import Console

    from .compare import compare as run
    from .compare import console_tables

    report = run(runs, out, registry=core_cli.registry(), n_boot=n_boot, level=ci_level, reference=reference, skip_unpairable=skip_unpairable)
    if as_json:
        return echo_json(report)
    console = Console()
    for table in console_tables(report):
        core_cli.print_table(table)
    for note in report["notes"]:
        console.print(f"[yellow]note[/]: {note}", highlight=False)
    click.echo(f"wrote {out}/compare.md, compare.json, compare.png", err=True)
