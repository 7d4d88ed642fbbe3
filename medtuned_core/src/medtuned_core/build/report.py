"""The composition report: rows per task and family, shares, and example lengths.

Lengths are of the whole training example (prompt + output, in the one prompt format), in tokens of
a named tokenizer or, by default, whitespace-separated words. They are kept as per-task histograms
(length -> count), so the mean and exact 95th percentile cost memory bounded by the longest example,
not by the number of rows.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..prompt import format_prompt

WHITESPACE = "whitespace"


@dataclass
class LengthMeasure:
    """How example lengths are counted: ``unit`` names it in the report."""

    name: str
    unit: str
    count_batch: Callable[[Sequence[str]], list[int]]


def whitespace_measure() -> LengthMeasure:
    return LengthMeasure(WHITESPACE, "words", lambda texts: [len(t.split()) for t in texts])


def load_measure(tokenizer: str | Path | None) -> LengthMeasure:
    """Whitespace words, or a tokenizer from a local ``tokenizer.json`` file or tokenizer folder."""
    if tokenizer is None or str(tokenizer) == WHITESPACE:
        return whitespace_measure()
    path = Path(tokenizer)
    if path.is_file():
        from tokenizers import Tokenizer

        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as exc:
            raise MedTunedError(f"{path}: not a tokenizers JSON file ({exc})") from None
        return LengthMeasure(path.name, "tokens", lambda texts: [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)])
    if path.is_dir():
        from transformers import AutoTokenizer

        try:
            hf = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:
            raise MedTunedError(f"{path}: could not load a tokenizer from this folder ({exc})") from None
        return LengthMeasure(path.name, "tokens", lambda texts: [len(ids) for ids in hf(list(texts), add_special_tokens=False)["input_ids"]])
    raise MedTunedError(f"--tokenizer {tokenizer}: not a tokenizer file or folder (models load from local folders only; or use {WHITESPACE!r})")


def example_text(row: Mapping[str, Any]) -> str:
    return format_prompt(row["instruction"], row.get("input", "")) + row["output"]


def mean_of(hist: Counter[int]) -> float:
    n = sum(hist.values())
    return sum(length * c for length, c in hist.items()) / n if n else 0.0


def percentile_of(hist: Counter[int], q: float) -> int:
    """Nearest-rank percentile of a length histogram."""
    n = sum(hist.values())
    if not n:
        return 0
    rank = max(1, math.ceil(q / 100 * n))
    seen = 0
    for length in sorted(hist):
        seen += hist[length]
        if seen >= rank:
            return length
    return max(hist)


class Composition:
    """Rows and length histograms per output file and task, filled while rows stream past."""

    def __init__(self, families: Mapping[str, str], measure: LengthMeasure | None = None, batch: int = 256):
        self.families = dict(families)
        self.measure = measure or whitespace_measure()
        self.batch = batch
        self.hist: dict[str, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
        self._pending: list[tuple[str, str, str]] = []

    def add(self, target: str, row: Mapping[str, Any]) -> None:
        self._pending.append((target, row["task"], example_text(row)))
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        lengths = self.measure.count_batch([text for _, _, text in self._pending])
        for (target, task, _), length in zip(self._pending, lengths, strict=True):
            self.hist[target][task][length] += 1
        self._pending.clear()

    def targets(self) -> list[str]:
        self.flush()
        return [t for t in ("train", "validation") if t in self.hist]

    def rows(self, target: str) -> list[dict[str, Any]]:
        """One summary per task (sorted by family, then task), then one per family, then the total."""
        self.flush()
        by_task = self.hist.get(target, {})
        total = sum(sum(h.values()) for h in by_task.values())
        out = []
        fam_hist: dict[str, Counter[int]] = defaultdict(Counter)
        for task in sorted(by_task, key=lambda t: (self.families.get(t, ""), t)):
            hist = by_task[task]
            fam_hist[self.families.get(task, "")].update(hist)
            out.append(self._summary("task", task, self.families.get(task, ""), hist, total))
        for family in sorted(fam_hist):
            out.append(self._summary("family", family, family, fam_hist[family], total))
        everything: Counter[int] = Counter()
        for hist in fam_hist.values():
            everything.update(hist)
        out.append(self._summary("total", "total", "", everything, total))
        return out

    @staticmethod
    def _summary(kind: str, name: str, family: str, hist: Counter[int], total: int) -> dict[str, Any]:
        n = sum(hist.values())
        return {
            "kind": kind,
            "name": name,
            "family": family,
            "rows": n,
            "share": n / total if total else 0.0,
            "mean_len": round(mean_of(hist), 1),
            "p95_len": percentile_of(hist, 95),
        }

    def family_histograms(self, target: str) -> dict[str, Counter[int]]:
        self.flush()
        out: dict[str, Counter[int]] = defaultdict(Counter)
        for task, hist in self.hist.get(target, {}).items():
            out[self.families.get(task, "")].update(hist)
        return dict(sorted(out.items()))


# -- output -----------------------------------------------------------------------------------------


def rich_table(composition: Composition, target: str, title: str):
    from rich.table import Table

    unit = composition.measure.unit
    table = Table(title=title)
    for col, justify in (("task", "left"), ("family", "left"), ("rows", "right"), ("share", "right"), (f"mean {unit}", "right"), (f"p95 {unit}", "right")):
        table.add_column(col, justify=justify)
    for row in composition.rows(target):
        style = {"task": None, "family": "bold", "total": "bold reverse"}[row["kind"]]
        name = {"task": row["name"], "family": f"{row['name']} (all)", "total": "TOTAL"}[row["kind"]]
        table.add_row(name, row["family"], f"{row['rows']:,}", f"{row['share']:.1%}", f"{row['mean_len']:.1f}", str(row["p95_len"]), style=style)
    return table


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def markdown(composition: Composition, manifest: Mapping[str, Any]) -> str:
    """``report.md``: composition per output file, shortfalls, missing sources and leakage."""
    unit = composition.measure.unit
    spec = manifest["spec"]
    lines = [f"# Build report: {spec['name']}", ""]
    if spec.get("description"):
        lines += [spec["description"], ""]
    lines += [f"Spec: `{manifest['spec_origin']}` · seed {manifest['seed']} · lengths in {unit} ({composition.measure.name}, prompt + output)", ""]
    for target in composition.targets():
        lines += [f"## {target}.jsonl", ""]
        body = []
        for row in composition.rows(target):
            name = {"task": row["name"], "family": f"**{row['name']} (all)**", "total": "**TOTAL**"}[row["kind"]]
            body.append([name, row["family"], f"{row['rows']:,}", f"{row['share']:.1%}", f"{row['mean_len']:.1f}", row["p95_len"]])
        lines += _md_table(["task", "family", "rows", "share", f"mean {unit}", f"p95 {unit}"], body, right=(2, 3, 4, 5))
        lines.append("")
    shortfalls = [(e["task"], e["split"], s) for e in manifest["entries"] for s in e.get("shortfalls", [])]
    if shortfalls:
        lines += ["## Fewer rows than asked", "", "All available rows were taken.", ""]
        body = [[f"{t}/{sp}", s["source"] or "(whole split)", f"{s['requested']:,}", f"{s['available']:,}"] for t, sp, s in shortfalls]
        lines += _md_table(["entry", "source", "requested", "available"], body, right=(2, 3)) + [""]
    if manifest["missing"]:
        lines += ["## Missing sources (built without them)", ""]
        body = [
            [m["task"], f"eval {m['split']}" if m["used_as"] == "eval" else m["used_as"], m.get("folder", ""), m.get("access", ""), m["reason"]]
            for m in manifest["missing"]
        ]
        lines += _md_table(["task", "used as", "folder", "access", "reason"], body) + [""]
    leakage = manifest["leakage"]
    lines += ["## Leakage guard", ""]
    if not leakage["checked"]:
        lines += ["No evaluation splits were listed in the spec; nothing was checked.", ""]
    else:
        checked = ", ".join(f"{c['split']} ({c['inputs']:,})" for c in leakage["checked"])
        lines += [f"Training inputs were checked against: {checked}.", ""]
        if leakage["dropped"]:
            lines += [f"{leakage['dropped_rows']:,} training rows repeated an evaluation input and were dropped:", ""]
            lines += _md_table(["train entry", "eval split", "rows"], [[d["train"], d["eval"], d["rows"]] for d in leakage["dropped"]], right=(2,)) + [""]
        else:
            lines += ["No training row repeated an evaluation input.", ""]
    return "\n".join(lines)


def save_chart(composition: Composition, path: Path, title: str) -> None:
    """``composition.png``: rows per task coloured by family, and the length distribution per family."""
    import numpy as np

    from ..charts import new_figure, save_png

    target = "train" if "train" in composition.targets() else (composition.targets() or ["train"])[0]
    rows = [r for r in composition.rows(target) if r["kind"] == "task"]
    families = sorted({r["family"] for r in rows})
    palette = {family: f"C{i % 10}" for i, family in enumerate(families)}
    fig = new_figure(figsize=(13, max(4.0, 0.35 * len(rows) + 1.5)), layout="constrained")
    ax_rows, ax_len = fig.subplots(1, 2, width_ratios=(1.1, 1))
    names = [r["name"] for r in rows][::-1]
    counts = [r["rows"] for r in rows][::-1]
    ax_rows.barh(names, counts, color=[palette[r["family"]] for r in rows][::-1])
    for y, r in enumerate(rows[::-1]):
        ax_rows.annotate(f" {r['rows']:,} ({r['share']:.1%})", (r["rows"], y), va="center", fontsize=8)
    ax_rows.set_xlabel(f"rows in {target}.jsonl")
    ax_rows.set_title("Composition")
    ax_rows.margins(x=0.25)
    hists = composition.family_histograms(target)
    top = max((percentile_of(h, 99) for h in hists.values()), default=1) or 1
    bins = np.linspace(0, top, 41)
    for family, hist in hists.items():
        lengths = np.fromiter(hist.keys(), dtype=float)
        weights = np.fromiter(hist.values(), dtype=float)
        ax_len.hist(np.minimum(lengths, top), bins=bins, weights=weights, histtype="step", linewidth=1.5, color=palette.get(family), label=family or "?")
    ax_len.set_xlabel(f"example length, {composition.measure.unit} ({composition.measure.name}; clipped at the 99th percentile)")
    ax_len.set_ylabel("rows")
    ax_len.set_title("Length distribution by family")
    if hists:
        ax_len.legend()
    fig.suptitle(title)
    save_png(fig, path, dpi=110)
