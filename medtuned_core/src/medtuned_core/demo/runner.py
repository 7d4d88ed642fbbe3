"""The demo's stages, run through the build, train and evaluate APIs."""

from __future__ import annotations

import os
import time
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..plugins import Registry, get_registry

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PLAN = "plan.toml"


def load_plan(profile: str) -> dict[str, Any]:
    plan = tomllib.loads(resources.files(__package__).joinpath(PLAN).read_text(encoding="utf-8"))
    return {"model": plan["model"], **plan[profile]}


def sample_data_root(registry: Registry, dest: Path) -> Path:
    """One data root linking every installed task's shipped samples (each plugin ships its own root)."""
    dest.mkdir(parents=True, exist_ok=True)
    for task in registry.tasks.values():
        source = Path(task.sample_data, task.data_folder) if task.sample_data else None
        link = dest / task.data_folder
        if source is None or not source.is_dir() or link.exists() or link.is_symlink():
            continue
        link.symlink_to(source.resolve(), target_is_directory=True)
    return dest


def run_demo(
    *,
    data_dir: Path | None,
    out: Path,
    quick: bool,
    model: str | None,
    mode: str,
    max_steps: int | None,
    threads: int,
    minutes: float | None = None,
    eval_limit: int | None = None,
    console: Any,
    registry: Registry | None = None,
    train_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run every stage into ``out/<profile>/``; returns the before/after comparison. ``train_overrides`` change
    training settings of the plan (e.g. ``{"seed": 43}`` for repeated runs)."""
    from ..build import build_mix, load_spec
    from ..evaluate import evaluate
    from ..evaluate.compare import console_tables
    from ..evaluate.reference import References, load_reference
    from ..train import make_config, train
    from .compare import before_after, other_figures, write_comparison

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    profile = "quick" if quick else "full"
    plan = load_plan(profile)
    if eval_limit:
        plan["eval_limit"] = eval_limit
    registry = registry or get_registry()
    work = out / profile
    base_model = model or plan["model"]
    clock = time.perf_counter()

    root = Path(data_dir) if data_dir else sample_data_root(registry, work / "samples")
    if not root.is_dir():
        raise MedTunedError(f"data directory {root} does not exist")
    eval_tasks = [t for t in plan["eval_tasks"] if t in registry.tasks and (root / registry.tasks[t].data_folder).is_dir()]
    if not eval_tasks:
        raise MedTunedError(f"none of the demo's evaluation tasks ({', '.join(plan['eval_tasks'])}) is installed with data under {root}")
    console.rule(f"[bold]MedTuned demo ({profile})[/] — data: {'shipped samples' if data_dir is None else root}")

    console.rule("1/4 build the instruction mix")
    spec = load_spec(resources.files(__package__).joinpath(plan["mix"]))
    build_mix(spec, root, work / "data", registry=registry, allow_missing=True, force=True, console=console, write_dataset=False)

    def run_eval(model_ref: str, folder: str) -> dict[str, Any]:
        return evaluate(
            model_ref,
            eval_tasks,
            root,
            "test",
            work / folder,
            mode=mode,
            limit=plan["eval_limit"],
            batch_size=plan["eval_batch_size"],
            registry=registry,
            model_label=folder,
        )

    console.rule(f"2/4 evaluate {base_model} zero-shot ({mode} mode, in its own prompt format)")
    _set_threads(threads)
    before = run_eval(base_model, "eval-before")

    console.rule("3/4 fine-tune on the CPU")
    overrides = {
        **plan["train"],
        "threads": threads,
        **({"max_steps": max_steps} if max_steps else {}),
        **({"max_minutes": minutes} if minutes else {}),
        **(train_overrides or {}),
    }
    flags = {"model": base_model, "data": str(work / "data"), "out": str(work / "run"), "resume": (work / "run").exists()}
    config = make_config("quick", overrides=overrides, flags=flags)
    exported = train(config)

    console.rule(f"4/4 evaluate the fine-tuned model ({mode} mode)")
    after = run_eval(str(exported), "eval-after")

    report = before_after(work / "eval-before", work / "eval-after", registry)
    extras = other_figures(before, after)
    # Published figures are shown only on real corpora: the shipped samples are not the study's test sets.
    reference = load_reference() if data_dir else References()
    formats = f"zero-shot in the {before['run']['format']} format, fine-tuned in the {after['run']['format']} format"
    title = f"{base_model}: before vs after a short CPU fine-tune ({_steps(work / 'run')} steps; {formats})"
    write_comparison(report, extras, work, title, reference)
    from ..cli import print_table

    for table in console_tables(report, title=f"Before / after fine-tuning ({formats})"):
        print_table(table)  # as wide as its kept-whole columns need: a log file must not show "ncbi-dise…"
    console.print(f"Wrote {work / 'results.md'} and {work / 'before_after.png'} in {time.perf_counter() - clock:.0f} s.")
    return {"report": report, "other_figures": extras, "before": before, "after": after, "out": str(work)}


def _steps(run: Path) -> str:
    import json

    try:
        return str(json.loads((run / "metrics.json").read_text())["summary"]["global_step"])
    except (OSError, KeyError, ValueError):
        return "?"


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))
