"""The ``medtuned build`` command."""

from __future__ import annotations

from pathlib import Path

import click

from .. import cli as core_cli
from ..corpus import require_data_dir


@click.command()
@click.option("--mix", "mix", type=click.Path(dir_okay=False, path_type=Path), help="Mix spec file (.toml, .yaml/.yml or .json).")
@click.option("--preset", help="A shipped mix spec instead of --mix (see --list-presets).")
@core_cli.data_dir_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (written atomically).")
@click.option("--seed", type=int, help="Seed for sampling, templates and shuffling (default: the spec's seed, else 0).")
@core_cli.templates_option
@click.option("--allow-missing", is_flag=True, help="Build without missing sources and record them in the manifest.")
@click.option("--tokenizer", help="Count report lengths in tokens of a local tokenizer (folder or tokenizer.json); default: whitespace words.")
@click.option("--force", is_flag=True, help="Replace --out if it already exists.")
@click.option("--no-dataset", is_flag=True, help="Skip dataset/ (parquet shards and their Hugging Face dataset card).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or table.")
@click.option("--list-presets", is_flag=True, help="List the shipped presets and exit.")
def build(
    mix: Path | None,
    preset: str | None,
    data_dir: Path | None,
    out: Path | None,
    seed: int | None,
    templates: Path | None,
    allow_missing: bool,
    tokenizer: str | None,
    force: bool,
    no_dataset: bool,
    quiet: bool,
    list_presets: bool,
) -> None:
    """Render, sample, shuffle and write an instruction dataset from a mix spec.

    Writes OUT/train.jsonl (+ validation.jsonl when the spec targets it), OUT/dataset/
    (parquet shards + dataset card: datasets.load_dataset reads it), manifest.json, report.md and composition.png.
    """
    from rich.console import Console

    from . import build_mix, load_preset, load_spec
    from .spec import list_presets as shipped

    if list_presets:
        for name in shipped():
            spec = load_preset(name)
            click.echo(f"{name}: {spec.description}")
        return
    if (mix is None) == (preset is None):
        raise click.UsageError("give exactly one of --mix SPEC or --preset NAME")
    if out is None:
        raise click.UsageError("--out is required")
    require_data_dir(data_dir)
    spec = load_spec(mix) if mix is not None else load_preset(preset)
    console = None if quiet else Console(stderr=True)
    result = build_mix(
        spec,
        data_dir,
        out,
        registry=core_cli.registry(),
        seed=seed,
        templates=templates,
        allow_missing=allow_missing,
        tokenizer=tokenizer,
        force=force,
        console=console,
        write_dataset=not no_dataset,
    )
    manifest = result.manifest
    rows = ", ".join(f"{name} {info['rows']:,} rows" for name, info in manifest["outputs"].items())
    click.echo(f"wrote {out}: {rows} in {result.seconds:.1f}s", err=True)
    if manifest["missing"]:
        names = sorted({m["task"] for m in manifest["missing"]})
        click.echo(f"built without {len(names)} missing task(s): {', '.join(names)} (recorded in manifest.json)", err=True)
    dropped = manifest["leakage"]["dropped_rows"]
    if dropped:
        click.echo(f"leakage guard dropped {dropped:,} training rows that repeated evaluation inputs (see report.md)", err=True)
