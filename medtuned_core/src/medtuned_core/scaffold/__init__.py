"""``medtuned new-task``: scaffold a third-party task plugin distribution (see docs/plugins.md)."""

from __future__ import annotations

from pathlib import Path

import click

from .families import STARTERS
from .generator import ScaffoldError, package_name, scaffold_plugin

__all__ = ["ScaffoldError", "new_task", "package_name", "scaffold_plugin"]


@click.command("new-task")
@click.argument("name")
@click.option("--family", required=True, type=click.Choice(sorted(STARTERS)), help="Task family: ner is token tagging; the others classify examples.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to create the distribution in (absent or empty).")
@click.option("--data-folder", help="Folder name the task expects under a data root (default: NAME).")
def new_task(name: str, family: str, out: Path, data_folder: str | None) -> None:
    """Scaffold a task plugin NAME: pyproject with the entry point, the task module, a sample, tests."""
    from ..plugins import get_registry

    taken = get_registry().tasks.get(name)
    if taken is not None:
        raise ScaffoldError(f"task {name!r} is already provided by {taken.package}; choose another name")
    written = scaffold_plugin(name, family, out, data_folder)
    click.echo(f"Created {package_name(name).replace('_', '-')} ({len(written)} files) in {out}")
    click.echo(f"Next: pip install -e '{out}[test]' && pytest {out}  — then edit {out}/src/{package_name(name)}/plugin.py")
