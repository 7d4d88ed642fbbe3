"""``medtuned compare``: a leaderboard of evaluation runs with confidence intervals, and a paired test for
every two runs of the same task.

A run is a folder ``medtuned evaluate`` wrote (``predictions.jsonl``, ``run.json``, ``metrics.json``). Each
score is recomputed from the raw predictions through the registry's parse and score hooks — the rows the
run scored, its seeded ``--limit`` sample included — so it equals ``medtuned score`` and ``metrics.json``.
Two runs are paired on a task only when they scored the same examples with the same references: both are
then resampled with the same draws (stats.py), so the bootstrap of ``B - A`` is a paired bootstrap, and
accuracy tasks also get McNemar's test. Runs on different examples are refused with the task named.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from .. import stats
from ..errors import MedTunedError
from ..io import read_json
from ..jsonl import atomic_writer
from ..plugins import Registry, get_registry
from ..render import sample_rows
from ..scoring import parse_row, read_score_rows, score_task, task_units
from .reference import References, load_reference
from .results import METRICS, PREDICTIONS, RUN, error_bars, interval_cell, write_json

REPORT = "compare"  # compare.md, compare.json, compare.png
# run.json settings that change what a score means without changing the examples: said, not refused.
DIFFERENCES = {
    "split": "splits",
    "format": "prompt formats",
    "templates_sha256": "templates",
    "seed": "template seeds",
    "mode": "modes",
    "options": "task options",
}
FORMAT_BEFORE_FORMATS = "alpaca"  # runs written before run.json named a format used the Alpaca layout


@dataclass
class Scored:
    """One run's score on one task, with the resamples the leaderboard and the paired tests share."""

    result: dict[str, Any]
    rows: dict[str, str]  # example id -> reference text
    units: stats.Units
    replicates: np.ndarray


@dataclass
class Run:
    label: str
    path: Path
    settings: dict[str, Any]
    model: str
    tasks: dict[str, Scored] = field(default_factory=dict)


def run_rows(path: Path, settings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The rows a run scored, per task: its predictions (the last row of an id wins, as when resuming),
    restricted to the tasks and the seeded ``--limit`` sample of its latest settings."""
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for row in read_score_rows(path / PREDICTIONS):
        if row.get("id") is None:
            raise MedTunedError(f"{path / PREDICTIONS}: a row of task {row['task']!r} has no 'id'; runs are compared example by example")
        by_task.setdefault(row["task"], {})[str(row["id"])] = row
    wanted = settings.get("tasks") or list(by_task)
    return {
        task: list(sample_rows(list(by_task[task].values()), settings.get("limit"), settings.get("seed", 0), task, settings.get("split", "test")))
        for task in wanted
        if task in by_task
    }


def load_run(path: Path, label: str, registry: Registry, n_boot: int, seed: int, level: float) -> Run:
    if not (path / PREDICTIONS).is_file() or not (path / RUN).is_file():
        raise MedTunedError(f"{path}: not an evaluation folder (needs {PREDICTIONS} and {RUN}, written by `medtuned evaluate`)")
    settings = _json(path / RUN)
    recorded = _json(path / METRICS) if (path / METRICS).is_file() else {}
    run = Run(label, path, settings, str(recorded.get("run", {}).get("model_label") or settings.get("model") or path.name))
    for name, rows in run_rows(path, settings).items():
        task = registry.get(name)
        items = [parse_row(registry, r) for r in rows]
        result = score_task(registry, task, items)
        units = stats.in_id_order(task_units(registry, task, items, result))
        values = stats.replicates(units, n_boot, seed)
        result.update(stats.interval_fields(values, units.unit, level))
        result["recorded_score"] = recorded.get("tasks", {}).get(name, {}).get("score")
        run.tasks[name] = Scored(result, {str(r.get("id")): r["reference"] for r in rows}, units, values)
    return run


def _json(path: Path) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise MedTunedError(f"{path}: expected a JSON object")
    return data


def _labels(paths: Sequence[Path]) -> list[str]:
    """Folder names, with as many parent folders as it takes to tell two runs apart (a folder given twice
    gets a number)."""
    parts = [p.resolve().parts for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = [str(Path(*p[-depth:])) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    seen: dict[str, int] = {}
    out = []
    for label in (Path(*p[-1:]).name or str(Path(*p)) for p in parts):
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def unpaired_reason(a: Scored, b: Scored) -> str | None:
    """Why two runs' scores on a task cannot be paired (None when they can)."""
    if a.rows.keys() != b.rows.keys():
        common = len(a.rows.keys() & b.rows.keys())
        return f"they scored different examples ({len(a.rows)} and {len(b.rows)}, {common} in common: a different --limit, --seed or split?)"
    differ = sum(a.rows[k] != b.rows[k] for k in a.rows)
    if differ:
        return f"{differ} of their {len(a.rows)} examples have different references (different data or task options?)"
    if a.units.ids != b.units.ids:
        return f"their {a.units.unit}s differ"
    return None


def pair(task: str, a: Run, b: Run, level: float) -> dict[str, Any]:
    """``B - A`` on one task: the difference, its paired-bootstrap interval and p, and McNemar for accuracy."""
    first, second = a.tasks[task], b.tasks[task]
    out = {"task": task, "a": a.label, "b": b.label, "n": first.result["n"], "score_a": first.result["score"], "score_b": second.result["score"]}
    out.update(stats.paired_difference(second.result["score"] - first.result["score"], second.replicates - first.replicates, level))
    if first.units.correct is not None and second.units.correct is not None:
        out["mcnemar"] = stats.mcnemar(first.units.correct, second.units.correct)
    return out


def notes_on_settings(runs: Sequence[Run]) -> list[str]:
    notes = []
    for a, b in combinations(runs, 2):
        first = {**a.settings, "format": a.settings.get("format", FORMAT_BEFORE_FORMATS)}
        second = {**b.settings, "format": b.settings.get("format", FORMAT_BEFORE_FORMATS)}
        for key, what in DIFFERENCES.items():
            if first.get(key) != second.get(key):
                notes.append(f"{a.label} and {b.label} used different {what}: {_short(first.get(key))} vs {_short(second.get(key))}")
    return notes


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text[:12] + "…" if len(text) > 16 else text


def compare_runs(
    paths: Sequence[str | Path],
    *,
    registry: Registry | None = None,
    n_boot: int = stats.DEFAULT_N_BOOT,
    level: float = stats.DEFAULT_LEVEL,
    seed: int = stats.DEFAULT_SEED,
    labels: Sequence[str] | None = None,
    skip_unpairable: bool = False,
) -> dict[str, Any]:
    """The comparison report (what compare.json holds). Raises MedTunedError, naming the task, for two runs
    of one task on different examples unless ``skip_unpairable`` (then the pair is left out and noted)."""
    if len(paths) < 1:
        raise MedTunedError("give at least one evaluation folder")
    stats.check_level(level)
    if n_boot < 1:
        raise MedTunedError("compare needs --n-boot of at least 1: its intervals and paired tests are bootstrap figures")
    registry = registry or get_registry()
    folders = [Path(p) for p in paths]
    names = list(labels) if labels else _labels(folders)
    runs = [load_run(p, name, registry, n_boot, seed, level) for p, name in zip(folders, names, strict=True)]
    tasks = list(dict.fromkeys(t for run in runs for t in run.tasks))
    notes = notes_on_settings(runs)
    pairs = []
    for task in tasks:
        having = [run for run in runs if task in run.tasks]
        for a, b in combinations(having, 2):
            reason = unpaired_reason(a.tasks[task], b.tasks[task])
            if reason is None:
                pairs.append(pair(task, a, b, level))
            elif skip_unpairable:
                notes.append(f"{task}: {a.label} and {b.label} not paired: {reason}")
            else:
                raise MedTunedError(f"{task}: cannot pair {a.label} with {b.label}: {reason}; pass --skip-unpairable for the leaderboard alone")
    for run in runs:
        for task, scored in run.tasks.items():
            recorded = scored.result.get("recorded_score")
            if recorded is not None and abs(recorded - scored.result["score"]) > 1e-9:
                notes.append(
                    f"{task}: {run.label}'s metrics.json says {recorded:.4f}, its predictions score {scored.result['score']:.4f} now (the parser or scorer changed?)"
                )
    return {
        "runs": [_run_json(run) for run in runs],
        "n_boot": n_boot,
        "ci_level": level,
        "seed": seed,
        "tasks": {
            task: {
                "metric": next(run.tasks[task].result["metric"] for run in runs if task in run.tasks),
                "runs": {run.label: _figures(run.tasks[task].result) for run in runs if task in run.tasks},
            }
            for task in tasks
        },
        "pairs": pairs,
        "notes": notes,
    }


def _run_json(run: Run) -> dict[str, Any]:
    keys = ("model", "mode", "split", "limit", "seed")
    settings = {k: run.settings.get(k) for k in keys}
    return {"label": run.label, "path": str(run.path), "model_label": run.model, "format": run.settings.get("format", FORMAT_BEFORE_FORMATS), **settings}


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result.get(k) for k in ("score", "ci_low", "ci_high", "ci_unit", "n", "unparsed")}


# -- the report -------------------------------------------------------------------------------


def _pp(value: float | None) -> str:
    """Percentage points, signed."""
    return "—" if value is None else f"{100 * value:+.2f}"


def markdown(report: dict[str, Any], reference: References, title: str | None = None) -> str:
    runs = [r["label"] for r in report["runs"]]
    tasks = report["tasks"]
    shown = reference.shown(tasks)
    level = f"{100 * report['ci_level']:g}%"
    lines = [
        f"# {title or f'Comparison of {len(runs)} evaluation runs'}",
        "",
        f"Scores in percent, recomputed from each run's predictions, with {level} percentile bootstrap intervals "
        f"({report['n_boot']} resamples of each task's unit, seed {report['seed']}). docs/evaluation.md explains how to read them.",
        "",
        "| Run | model | split | mode | format | sample |",
        "|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        sample = f"{run['limit']} per task, seed {run['seed']}" if run.get("limit") else "whole split"
        lines.append(f"| {run['label']} | {run['model_label']} | {run['split']} | {run['mode']} | {run.get('format') or '—'} | {sample} |")
    header = ["Task", "Metric", *runs, *(reference.header(c) for c in shown)]
    lines += ["", "## Leaderboard", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task, entry in tasks.items():
        cells = [f"{100 * r['score']:.2f} {interval_cell(r)}" if (r := entry["runs"].get(run)) else "—" for run in runs]
        lines.append("| " + " | ".join([reference.study_name(task), entry["metric"], *cells, *reference.cells(shown, task)]) + " |")
    if report["pairs"]:
        lines += [
            "",
            "## Paired tests (B − A on the examples both scored)",
            "",
            f"| Task | A | B | n | A | B | B − A | {level} CI | p (paired bootstrap) | p (McNemar) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for p in report["pairs"]:
            mcnemar = p.get("mcnemar")
            exact = f"{mcnemar['p']:.3g} ({mcnemar['only_a']}/{mcnemar['only_b']}, {mcnemar['test']})" if mcnemar else "—"
            cells = [p["task"], p["a"], p["b"], str(p["n"]), f"{100 * p['score_a']:.2f}", f"{100 * p['score_b']:.2f}", _pp(p["diff"])]
            cells += [f"[{_pp(p['ci_low'])}, {_pp(p['ci_high'])}]", f"{p['p_bootstrap']:.3g}", exact]
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            "B − A in percentage points. McNemar's column gives p, then the examples only A and only B got right.",
        ]
    if report["notes"]:
        lines += ["", "## Notes", "", *(f"- {note}" for note in report["notes"])]
    notes = reference.footnotes(tasks)
    if notes:
        lines += ["", *(f"{note}\n" for note in notes)]
    return "\n".join(lines).rstrip() + "\n"


def write_chart(path: Path, report: dict[str, Any], title: str = "", names: Mapping[str, str] | None = None) -> None:
    """Bars per task and run, with each score's interval as an error bar; ``names`` relabels runs in the legend."""
    from ..charts import new_figure, save_png

    tasks = list(report["tasks"])
    runs = [r["label"] for r in report["runs"]]
    width = 0.8 / max(1, len(runs))
    fig = new_figure(figsize=(max(5.0, 1.3 * len(tasks) * max(1, len(runs)) ** 0.5 + 2), 4.2))
    ax = fig.subplots()
    for k, run in enumerate(runs):
        scores, errors = error_bars([report["tasks"][t]["runs"].get(run) for t in tasks])
        xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(tasks))]
        ax.bar(xs, scores, width=width, label=(names or {}).get(run, run), yerr=errors, capsize=3)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([f"{t}\n{report['tasks'][t]['metric']}" for t in tasks], fontsize=8)
    ax.set_ylabel(f"score (%), {100 * report['ci_level']:g}% interval")
    ax.set_ylim(0, 100)
    ax.set_title(title or "medtuned compare", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path, dpi=120)


def write_report(report: dict[str, Any], out: Path, reference: References, title: str | None = None) -> list[Path]:
    """compare.md, compare.json and compare.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    shown = reference.shown(report["tasks"])
    write_json(out / f"{REPORT}.json", {**report, "reference": reference.to_json(shown)})
    with atomic_writer(out / f"{REPORT}.md") as fh:
        fh.write(markdown(report, reference, title))
    write_chart(out / f"{REPORT}.png", report, title or "")
    return [out / f"{REPORT}.{ext}" for ext in ("md", "json", "png")]


def console_tables(report: dict[str, Any], title: str = "Leaderboard") -> list[Any]:
    """The leaderboard and the paired tests as rich tables."""
    from rich.table import Table

    runs = [r["label"] for r in report["runs"]]
    board = Table(title=f"{title} ({100 * report['ci_level']:g}% intervals, percent)")
    for col in ("task", "metric", *runs):
        board.add_column(col, no_wrap=col != "metric")
    for task, entry in report["tasks"].items():
        board.add_row(task, entry["metric"], *(f"{100 * r['score']:.2f} {interval_cell(r)}" if (r := entry["runs"].get(run)) else "—" for run in runs))
    tables = [board]
    if report["pairs"]:
        tests = Table(title="Paired tests: B − A (percentage points)")
        for col in ("task", "A", "B", "n", "B − A", f"{100 * report['ci_level']:g}% CI", "p bootstrap", "p McNemar"):
            tests.add_column(col, no_wrap=True)
        for p in report["pairs"]:
            mcnemar = p.get("mcnemar")
            row = (p["task"], p["a"], p["b"], str(p["n"]), _pp(p["diff"]), f"[{_pp(p['ci_low'])}, {_pp(p['ci_high'])}]", f"{p['p_bootstrap']:.3g}")
            tests.add_row(*row, "—" if not mcnemar else f"{mcnemar['p']:.3g}")
        tables.append(tests)
    return tables


def compare(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    registry: Registry | None = None,
    n_boot: int = stats.DEFAULT_N_BOOT,
    level: float = stats.DEFAULT_LEVEL,
    seed: int = stats.DEFAULT_SEED,
    reference: str | Path | None = None,
    labels: Sequence[str] | None = None,
    skip_unpairable: bool = False,
    title: str | None = None,
) -> dict[str, Any]:
    """Compare evaluation runs and write the report to ``out``; returns compare.json's content."""
    refs = load_reference(reference)
    report = compare_runs(paths, registry=registry, n_boot=n_boot, level=level, seed=seed, labels=labels, skip_unpairable=skip_unpairable)
    write_report(report, Path(out), refs, title)
    return report
