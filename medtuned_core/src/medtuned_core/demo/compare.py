"""The demo's before/after comparison: ``medtuned compare`` on its two evaluation folders (scores with
intervals, the paired test of the change), written as results.md, comparison.json and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..evaluate.compare import compare_runs, markdown, write_chart
from ..evaluate.reference import References
from ..evaluate.results import write_json
from ..jsonl import atomic_writer
from ..plugins import Registry

# Extra figures worth showing beside a task's primary score when its scorer reports them
# (a dotted path reaches into nested details, e.g. NER's strict IOB2 figure). They have no interval.
EXTRA_FIGURES = {"strict_f1": "strict.f1", "accuracy": "accuracy"}
LABELS = ("before", "after")


def _lookup(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def other_figures(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (task, extra figure other than the primary metric) present in both runs' metrics."""
    rows = []
    for task, result in before["tasks"].items():
        later = after["tasks"].get(task)
        for name, path in EXTRA_FIGURES.items():
            then, now = _lookup(result, path), None if later is None else _lookup(later, path)
            # a task its plugin could not score (an error entry) has no figures: nothing to compare
            if name != result.get("metric") and all(isinstance(v, int | float) and not isinstance(v, bool) for v in (then, now)):
                rows.append({"task": task, "metric": name, "before": float(then), "after": float(now)})
    return rows


def before_after(before: Path, after: Path, registry: Registry) -> dict[str, Any]:
    """The comparison report of the two evaluation folders (compare.json's shape)."""
    return compare_runs([before, after], registry=registry, labels=LABELS)


def write_comparison(report: dict[str, Any], extras: list[dict[str, Any]], folder: Path, title: str, reference: References | None = None) -> None:
    text = markdown(report, reference or References(), title)
    if extras:
        text += "\n## Other figures (no interval)\n\n| task | metric | before | after | change |\n|---|---|---:|---:|---:|\n"
        text += "".join(f"| {r['task']} | {r['metric']} | {r['before']:.4f} | {r['after']:.4f} | {r['after'] - r['before']:+.4f} |\n" for r in extras)
    with atomic_writer(folder / "results.md") as fh:
        fh.write(text)
    write_json(folder / "comparison.json", {**report, "other_figures": extras})
    write_chart(folder / "before_after.png", report, title, names=dict(zip(LABELS, ("before (zero-shot)", "after fine-tuning"), strict=True)))
