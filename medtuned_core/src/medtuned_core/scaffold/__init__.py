"""``medtuned new-task``: scaffold a third-party task plugin distribution (see docs/plugins.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ..kits.tagging.scheme import SCHEMES
from .families import STARTERS
from .generator import READERS, ScaffoldError, package_name, scaffold_plugin

__all__ = ["ScaffoldError", "new_task", "package_name", "scaffold_plugin"]


@click.command("new-task")
@click.argument("name")
@click.option(
    "--family",
    required=True,
    type=click.Choice(sorted(STARTERS)),
    help="Task family: ner is token tagging (the tagging kit); the others classify examples (the labels kit).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to create the distribution in (absent or empty).")
@click.option("--data-folder", help="Folder name the task expects under a data root (default: NAME).")
@click.option("--scheme", type=click.Choice(sorted(SCHEMES)), default="iob2", show_default=True, help="Tag scheme (ner).")
@click.option(
    "--reader",
    type=click.Choice(sorted({r for readers in READERS.values() for r in readers})),
    help="Data format: ner conll (token<TAB>tag, the default) or jsonl; others jsonl (the default) or tsv.",
)
def new_task(name: str, family: str, out: Path, data_folder: str | None, scheme: str, reader: str | None) -> None:
    """Scaffold a task plugin NAME: a TOML declaration on a kit, a sample, tests, and the pyproject with the entry point."""
    from ..plugins import get_registry

    taken = get_registry().tasks.get(name)
    if taken is not None:
        raise ScaffoldError(f"task {name!r} is already provided by {taken.package}; choose another name")
    if scheme != "iob2" and STARTERS[family].kit != "tagging":
        raise ScaffoldError(f"--scheme is for tagging tasks (family ner), not {family}")
    written = scaffold_plugin(name, family, out, data_folder, scheme, reader)
    click.echo(f"Created {package_name(name).replace('_', '-')} ({len(written)} files) in {out}")
    click.echo(f"Next: pip install -e '{out}[test]' && pytest {out}  — then edit {out}/src/{package_name(name)}/tasks/{name}.toml")
