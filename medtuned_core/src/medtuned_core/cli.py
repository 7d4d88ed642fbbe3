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

from .errors import MedTunedError, one_line

# Commands living in their own modules, imported only when run (or when --help lists them).
LAZY_COMMANDS = {
    "build": "medtuned_core.build.cli:build",
    "train": "medtuned_core.train.cli:train",
    "evaluate": "medtuned_core.evaluate.cli:evaluate",
    "predict": "medtuned_core.evaluate.cli:predict",
    "compare": "medtuned_core.evaluate.cli:compare",
    "demo": "medtuned_core.demo:demo",
    "new-task": "medtuned_core.scaffold:new_task",
    "card": "medtuned_core.cards_cli:card",
    "export": "medtuned_core.export_cli:export",
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
        except (MedTunedError, OSError) as exc:
            # OSError: a safety net for file-system failures outside the I/O layer (a full disk, an
            # unwritable --out); its message names the path. Anything else is a bug and keeps its traceback.
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(one_line(str(exc))) from None
        except KeyboardInterrupt:
            raise click.Abort() from None


@click.group(cls=MedTunedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--task-path",
    "task_paths",
    multiple=True,
    metavar="DIR",
    help="A folder of task files (*.toml) to load besides the installed plugins (repeatable; added to MEDTUNED_TASK_PATH).",
)
@click.version_option(package_name="medtuned-core", prog_name="medtuned")
def cli(debug: bool, task_paths: tuple[str, ...]) -> None:
    """MedTuned: instruction-tune LLMs on biomedical and clinical NLP."""
    if task_paths:
        _use_task_paths(task_paths)


def _use_task_paths(folders: tuple[str, ...]) -> None:
    """--task-path: prepended to MEDTUNED_TASK_PATH, so the registry and any subprocess (train workers) see them."""
    from . import plugins
    from .kits.declare import ENV_TASK_PATH

    os.environ[ENV_TASK_PATH] = os.pathsep.join([*folders, *filter(None, [os.environ.get(ENV_TASK_PATH)])])
    plugins._default = None


def registry():
    """The process-wide registry; configuration problems (a mistyped ``MEDTUNED_PLUGINS`` name...) are
    printed once, on stderr, by the first command that asks for it."""
    from . import plugins

    fresh = plugins._default is None
    reg = plugins.get_registry()
    if fresh:
        for warning in reg.warnings:
            click.echo(f"warning: {warning}", err=True)
    return reg


def echo_json(obj: Any) -> None:
    """JSON on stdout; never NaN or Infinity (hook results are checked, so one would be a bug)."""
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))


def wide_table(title: str, columns: tuple[str, ...], keep_whole: tuple[str, ...] = ()):
    """A rich table whose ``keep_whole`` columns (names) are never cut or folded, whatever the terminal width."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=0)
    for col in columns:
        table.add_column(col, no_wrap=col in keep_whole, overflow="fold")
    return table


def print_table(table) -> None:
    from rich.console import Console
    from rich.measure import Measurement

    console = Console()
    # Kept-whole columns need their full width: let the table be as wide as they are (plus a few characters for
    # each folding column), not cut at the terminal; the folding columns share what the terminal has left.
    options = console.options.update(width=10_000)

    def width(column, widest: bool) -> int:
        sizes = [Measurement.get(console, options, cell) for cell in [column.header, *column.cells]]
        return max(m.maximum for m in sizes) if widest else min(12, max(m.minimum for m in sizes))

    # Borders, padding and separators: the table's natural width less its columns' natural widths.
    frame = table.__rich_measure__(console, options).maximum - sum(width(c, True) for c in table.columns)
    needed = sum(width(c, c.no_wrap) for c in table.columns) + frame
    Console(width=max(console.width, needed)).print(table)


def report_conflicts(reg) -> None:
    for error in reg.conflicts.values():
        click.echo(f"conflict: {error}", err=True)


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
    reg = registry()
    tasks = reg.select(family=family)
    if as_json:
        return echo_json([t.to_json() for t in tasks])
    table = wide_table("MedTuned tasks", ("name", "family", "metric", "splits", "access", "package"), keep_whole=("name", "metric", "splits", "access"))
    for t in tasks:
        table.add_row(t.name, t.family, t.metric, "\n".join(t.splits), t.access, f"{t.package}\n{t.version}")
    for name, error in sorted(reg.conflicts.items()):
        table.add_row(name, "", "", "", "[red]disabled[/]", "\n".join(f"[red]conflict[/]: {p}" for p in error.providers))
    print_table(table)
    report_conflicts(reg)
    broken = [p for p in reg.plugins if not p.ok]
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
    from rich.text import Text

    from .evaluate.backends import plugin_rows
    from .plugins import ENV_PROVIDERS

    reg = registry()
    rows, backends = plugin_rows(reg, show_all)
    if as_json:
        return echo_json(rows)
    columns = ("distribution", "version", "hooks", "tasks", "backends", "status")
    table = wide_table("MedTuned plugins", columns, keep_whole=("distribution", "version"))
    details = []  # whole lines under the table: an error message folded into a narrow column is unreadable
    for p in rows:
        parts = [f"error: {p['error']}"] if p["status"] != "ok" else []
        parts += [f"conflict: {task} with {', '.join(others)}" for task, others in (p.get("conflicts") or {}).items()]
        parts += [f"{task}: {ENV_PROVIDERS} chose {chosen}" for task, chosen in (p.get("set_aside") or {}).items()]
        details += [f"{p['distribution']}: {part}" for part in parts]
        status = "ok" if p["status"] == "ok" else "error"
        status += "".join(f"\n{word}" for word, key in (("conflict", "conflicts"), ("set aside", "set_aside")) if p.get(key))
        hooks = "\n".join(h.removeprefix("medtuned_") for h in p["hooks"])
        healthy = p["status"] == "ok" and not p.get("conflicts")
        table.add_row(p["distribution"], p["version"], hooks, ", ".join(p["tasks"]), ", ".join(p["backends"]), status if healthy else f"[red]{status}[/]")
    print_table(table)
    for line in details:
        click.echo(line)
    from rich.console import Console

    Console().print(Text("Model backends (medtuned evaluate --backend NAME):\n" + backends.summary()))
    report_conflicts(reg)


@cli.command()
@click.argument("task")
@data_dir_option
@click.option("--split", required=True, help="train, validation or test.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@templates_option
@click.option("--seed", default=0, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N rows.")
@option_option
def render(task: str, data_dir: Path | None, split: str, out: Path, templates: Path | None, seed: int, limit: int | None, options: tuple[str, ...]) -> None:
    """Render one task split to Alpaca JSONL (corpus order)."""
    from .corpus import require_data_dir
    from .jsonl import write_jsonl
    from .render import alpaca, load_templates, render_split

    require_data_dir(data_dir)
    reg = registry()
    info = reg.get(task)
    custom = load_templates(templates, known=reg, used_by=[info.name]) if templates else None
    rows = render_split(reg, info, data_dir, split, seed, custom, parse_options(options), limit)
    n = write_jsonl(out, (alpaca(r) for r in rows))
    click.echo(f"wrote {n} rows to {out}", err=True)


def interval_options(fn: Any) -> Any:
    """``--n-boot`` and ``--ci``: the bootstrap interval of every score (stats.py)."""
    fn = click.option("--ci", "ci_level", type=float, default=0.95, show_default=True, help="Confidence level of the intervals.")(fn)
    return click.option("--n-boot", type=int, default=1000, show_default=True, help="Bootstrap resamples for the confidence intervals (0: no interval).")(fn)


def interval_text(result: dict[str, Any], scale: float = 1.0, digits: int = 4) -> str:
    """``[low, high]`` of a result's interval, or a dash."""
    low, high = result.get("ci_low"), result.get("ci_high")
    return "—" if low is None or high is None else f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@interval_options
@click.option("--json", "as_json", is_flag=True)
def score(file: Path, n_boot: int, ci_level: float, as_json: bool) -> None:
    """Score a JSONL of {task, reference, prediction} rows through the parse and score hooks, with a
    bootstrap confidence interval for each score."""
    from .scoring import read_score_rows, score_rows
    from .stats import check_level, check_n_boot

    results = score_rows(registry(), read_score_rows(file), n_boot=check_n_boot(n_boot), level=check_level(ci_level))
    if as_json:
        echo_json(results)
    else:
        ci = f"{100 * ci_level:g}% CI"
        table = wide_table(f"Scores: {file.name}", ("task", "metric", "score", ci, "unit", "n", "unparsed"), keep_whole=("task", ci))
        for name, r in results.items():
            if "error" in r:
                table.add_row(name, "[red]error[/]", "—", "—", "—", str(r["n"]), "—")
            else:
                table.add_row(name, r["metric"], f"{r['score']:.4f}", interval_text(r), str(r.get("ci_unit", "—")), str(r["n"]), str(r["unparsed"]))
        print_table(table)
    exit_if_failed(results)


def exit_if_failed(results: dict[str, dict[str, Any]]) -> None:
    """After the figures were printed: one stderr line per task that could not be scored, and exit 1."""
    from .scoring import failed_tasks

    failed = failed_tasks(results)
    for name in failed:
        click.echo(f"Error: {results[name]['error']}", err=True)
    if failed:
        raise click.exceptions.Exit(1)


def main() -> None:
    cli(prog_name="medtuned")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
