"""The ``medtuned`` command line. Commands that need heavy libraries load lazily, so that
``medtuned list-tasks`` never imports torch or transformers."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from .errors import MedTunedError

# Commands living in their own modules, imported only when run (or when --help lists them).
LAZY_COMMANDS = {
    "build": "medtuned_core.build.cli:build",
    "train": "medtuned_core.train.cli:train",
    "evaluate": "medtuned_core.evaluate.cli:evaluate",
    "predict": "medtuned_core.evaluate.cli:predict",
    "demo": "medtuned_core.demo:demo",
    "new-task": "medtuned_core.scaffold:new_task",
}


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


class MedTunedGroup(click.Group):
    """Lazy subcommands, and MedTunedError shown as one line unless ``--debug``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = [n for n, target in LAZY_COMMANDS.items() if _module_exists(target.split(":")[0])]
        return sorted({*super().list_commands(ctx), *lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands or name not in LAZY_COMMANDS:
            return super().get_command(ctx, name)
        module, attr = LAZY_COMMANDS[name].split(":")
        if not _module_exists(module):
            return None
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MedTunedError as exc:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None


@click.group(cls=MedTunedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="medtuned-core", prog_name="medtuned")
def cli(debug: bool) -> None:
    """MedTuned: instruction-tune LLMs on biomedical and clinical NLP."""


def registry():
    from .plugins import get_registry

    return get_registry()


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` task options; values are read as JSON when they parse, else kept as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MedTunedError(f"--option expects key=value, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: os.environ.get("MEDTUNED_DATA_DIR"),
    help="Root holding one folder per dataset (default: $MEDTUNED_DATA_DIR).",
)
templates_option = click.option("--templates", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="JSON: task name -> list of instructions.")
option_option = click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="Task option, e.g. fold=3.")


@cli.command("list-tasks")
@click.option("--family", help="Only tasks of this family (ner, re, nli, cls, qa...).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_tasks(family: str | None, as_json: bool) -> None:
    """List the tasks of every installed plugin."""
    tasks = registry().select(family=family)
    if as_json:
        return echo_json([t.to_json() for t in tasks])
    from rich.console import Console
    from rich.table import Table

    table = Table(title="MedTuned tasks")
    for col in ("name", "family", "metric", "splits", "access", "package"):
        table.add_column(col)
    for t in tasks:
        table.add_row(t.name, t.family, t.metric, ", ".join(t.splits), t.access, f"{t.package} {t.version}")
    Console().print(table)
    broken = [p for p in registry().plugins if not p.ok]
    if broken:
        click.echo(f"{len(broken)} plugin(s) failed to load: see `medtuned plugins`.", err=True)


@cli.command()
@click.argument("task")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
def describe(task: str, data_dir: Path | None, as_json: bool) -> None:
    """Show a task's metadata and one rendered example."""
    from .render import render_split

    reg = registry()
    info = reg.get(task)
    root = data_dir if data_dir and (data_dir / info.data_folder).is_dir() else (Path(info.sample_data) if info.sample_data else None)
    example = None
    if root is not None:
        example = next(render_split(reg, info, root, info.splits[0], limit=1), None)
    if as_json:
        return echo_json({**info.to_json(), "example": example})
    from rich.console import Console
    from rich.panel import Panel

    console = Console()
    meta = info.to_json()
    console.print(Panel("\n".join(f"[bold]{k}[/]: {v}" for k, v in meta.items() if v not in ("", [], {})), title=info.name))
    if example:
        from .prompt import format_prompt

        console.print(Panel(format_prompt(example["instruction"], example["input"]) + example["output"], title="example", highlight=False), markup=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "show_all", is_flag=True, help="Include the core's own plugins (the built-in model backends).")
def plugins(as_json: bool, show_all: bool) -> None:
    """List plugins: distribution, version, hooks, tasks, backends, status; then the model backends."""
    from .evaluate.backends import plugin_rows

    rows, backends = plugin_rows(registry(), show_all)
    if as_json:
        return echo_json(rows)
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="MedTuned plugins")
    for col in ("distribution", "version", "hooks", "tasks", "backends", "status"):
        table.add_column(col)
    for p in rows:
        status = "ok" if p["status"] == "ok" else f"[red]error[/]: {p['error']}"
        table.add_row(p["distribution"], p["version"], "\n".join(p["hooks"]), ", ".join(p["tasks"]), ", ".join(p["backends"]), status)
    console = Console()
    console.print(table)
    console.print(Text("Model backends (medtuned evaluate --backend NAME):\n" + backends.summary()))


@cli.command()
@click.argument("task")
@data_dir_option
@click.option("--split", required=True, help="train, validation or test.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@templates_option
@click.option("--seed", default=0, show_default=True)
@click.option("--limit", type=int)
@option_option
def render(task: str, data_dir: Path | None, split: str, out: Path, templates: Path | None, seed: int, limit: int | None, options: tuple[str, ...]) -> None:
    """Render one task split to Alpaca JSONL (corpus order)."""
    from .jsonl import write_jsonl
    from .render import alpaca, load_templates, render_split

    if data_dir is None:
        raise MedTunedError("no data directory: pass --data-dir or set MEDTUNED_DATA_DIR")
    reg = registry()
    custom = load_templates(templates) if templates else None
    rows = render_split(reg, reg.get(task), data_dir, split, seed, custom, parse_options(options), limit)
    n = write_jsonl(out, (alpaca(r) for r in rows))
    click.echo(f"wrote {n} rows to {out}", err=True)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def score(file: Path, as_json: bool) -> None:
    """Score a JSONL of {task, reference, prediction} rows through the parse and score hooks."""
    from .scoring import read_score_rows, score_rows

    results = score_rows(registry(), read_score_rows(file))
    if as_json:
        return echo_json(results)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Scores: {file.name}")
    for col in ("task", "metric", "score", "n", "unparsed"):
        table.add_column(col)
    for name, r in results.items():
        table.add_row(name, r["metric"], f"{r['score']:.4f}", str(r["n"]), str(r["unparsed"]))
    Console().print(table)


def main() -> None:
    cli(prog_name="medtuned")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
