"""The demo's before/after comparison: rows, results.md and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..jsonl import atomic_path, atomic_writer

# Extra figures worth showing beside a task's primary score when its scorer reports them
# (a dotted path reaches into nested details, e.g. NER's strict IOB2 figure).
EXTRA_FIGURES = {"strict_f1": "strict.f1", "accuracy": "accuracy"}


def _lookup(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _figures(result: dict[str, Any]) -> dict[str, float]:
    if "error" in result:
        return {}  # a task its plugin could not score (an error entry): nothing to compare
    out = {result["metric"]: float(result["score"])}
    for name, path in EXTRA_FIGURES.items():
        value = _lookup(result, path)
        if isinstance(value, int | float) and not isinstance(value, bool) and name != result["metric"]:
            out[name] = float(value)
    return out


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (task, figure) present in both runs."""
    rows = []
    for task, result in before["tasks"].items():
        later = after["tasks"].get(task)
        if later is None:
            continue
        then, now = _figures(result), _figures(later)
        for metric in then:
            if metric in now:
                rows.append(
                    {
                        "task": task,
                        "metric": metric,
                        "before": then[metric],
                        "after": now[metric],
                        "unparsed_before": result.get("unparsed", 0),
                        "unparsed_after": later.get("unparsed", 0),
                    }
                )
    return rows


def write_comparison(rows: list[dict[str, Any]], folder: Path, title: str) -> None:
    lines = [f"# {title}", "", "| task | metric | before | after | change |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['task']} | {r['metric']} | {r['before']:.4f} | {r['after']:.4f} | {r['after'] - r['before']:+.4f} |" for r in rows]
    with atomic_writer(folder / "results.md") as fh:
        fh.write("\n".join(lines) + "\n")
    _chart(rows, folder / "before_after.png", title)


def _chart(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['task']}\n{r['metric']}" for r in rows]
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(rows)), 4))
    ax.bar([x - 0.2 for x in xs], [r["before"] for r in rows], width=0.4, label="before (zero-shot)")
    ax.bar([x + 0.2 for x in xs], [r["after"] for r in rows], width=0.4, label="after fine-tuning")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
