"""``medtuned demo``: build a small mix, evaluate a real pretrained model zero-shot, fine-tune it
briefly on the CPU, evaluate again, and show the before/after table.

What the demo uses (tasks, sizes, training budget) is data in ``plan.toml`` and the mix specs
beside it; this code only runs the stages through the same APIs as ``medtuned build``, ``train``
and ``evaluate``.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import cli as core_cli


@click.command()
@core_cli.data_dir_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("medtuned-demo"), show_default=True, help="Output folder.")
@click.option("--quick", is_flag=True, help="A ~2-minute run (a handful of rows and steps).")
@click.option("--model", help="Base model (default: the plan's, the smollm2-135m alias).")
@click.option("--mode", type=click.Choice(["score", "generate"]), default="score", show_default=True, help="Evaluation mode.")
@click.option("--max-steps", type=int, help="Override the plan's training schedule length (steps).")
@click.option("--minutes", type=float, help="Override the plan's training time budget (minutes).")
@click.option("--eval-limit", type=int, help="Override the plan's number of test examples per task.")
@click.option("--threads", type=int, default=2, show_default=True, help="torch CPU threads.")
def demo(
    data_dir: Path | None,
    out: Path,
    quick: bool,
    model: str | None,
    mode: str,
    max_steps: int | None,
    minutes: float | None,
    eval_limit: int | None,
    threads: int,
) -> None:
    """Build -> evaluate zero-shot -> fine-tune on CPU -> evaluate again, with a before/after table.

    Without --data-dir (or $MEDTUNED_DATA_DIR) it runs on the small samples shipped inside the task
    packages; with --data-dir ../shared/corpora it uses the real corpora.
    """
    from rich.console import Console

    from .runner import run_demo

    run_demo(
        data_dir=data_dir,
        out=out,
        quick=quick,
        model=model,
        mode=mode,
        max_steps=max_steps,
        minutes=minutes,
        eval_limit=eval_limit,
        threads=threads,
        console=Console(),
    )
