"""What an evaluation leaves behind: predictions.jsonl (resumable), metrics.json, results.md, a PNG chart.

``predictions.jsonl`` rows are in the core's score format (``task``, ``id``, ``input``, ``reference``,
``prediction``) plus the prompt, the method, the parsed value and the parse diagnostics, so
``medtuned score predictions.jsonl`` re-scores it. Rows are appended and flushed batch by batch; after
a kill, a torn last line is cut off and every complete row is kept, so a rerun only computes the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import CorpusFormatError, MedTunedError
from ..io import decode, read_json
from ..jsonl import atomic_writer, dumps
from . import choice_report
from .reference import References, load_reference  # noqa: F401 (load_reference: the runner's entry point)

PREDICTIONS = "predictions.jsonl"
METRICS = "metrics.json"
RESULTS = "results.md"
CHART = "results.png"
RUN = "run.json"

# Settings that change the predictions: a resumed run must match them.
# (The tagging algorithm is not among them: every exact algorithm gives the same answers.)
RUN_IDENTITY = (
    "model",
    "model_fingerprint",
    "mode",
    "format",
    "system_prompt",
    "backend",
    "split",
    "seed",
    "templates_sha256",
    "options",
    "max_passes",
    "max_new_tokens",
    "dtype",
    "choice_scoring",
    "permute_choices",
)
# What a run.json written before a setting existed implies (every run was in the Alpaca format then).
IDENTITY_DEFAULTS = {"format": "alpaca"}


class PredictionStore:
    """``predictions.jsonl``: rows keyed by ``(task, id)``, appended as they are computed."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.repaired = 0  # bytes of a torn final line dropped on open

    def open(self) -> PredictionStore:
        if not self.path.exists():
            return self
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            # Killed mid-write: the last line is incomplete. Drop it; that row is recomputed.
            keep = data.rfind(b"\n") + 1
            self.repaired = len(data) - keep
            with self.path.open("r+b") as fh:
                fh.truncate(keep)
            data = data[:keep]
        for lineno, line in enumerate(decode(self.path, data).splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusFormatError(self.path, lineno, f"invalid JSON ({exc.msg}); remove the line or start a new --out") from None
            if not isinstance(row, dict) or not isinstance(row.get("task"), str) or "id" not in row:
                raise CorpusFormatError(self.path, lineno, "expected a prediction row with 'task' and 'id'")
            self.rows[(row["task"], str(row["id"]))] = row  # a duplicate (never written by us) keeps the last
        return self

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self.rows

    def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write complete lines and force them to disk before reporting progress."""
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = "".join(dumps(r) + "\n" for r in rows).encode("utf-8")
        with self.path.open("ab") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        for r in rows:
            self.rows[(r["task"], str(r["id"]))] = r


def file_sha256(path: str | Path | None) -> str | None:
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# Files whose bytes are the model: weights (full or adapter), its config and the tokenizer.
MODEL_FILES = ("*.safetensors", "*.bin", "*.pt", "*.gguf", "*config.json", "tokenizer*.json", "chat_template.*")
SAMPLE_BYTES = 1 << 20


def model_fingerprint(folder: str | Path) -> str | None:
    """A digest of a local model folder, so a model retrained into the same folder is not taken for the
    one whose predictions are on disk. Weight files are sampled (size plus 1 MiB at the start, middle and
    end): fine-tuning changes every tensor, and hashing a 7B checkpoint whole would take longer than
    resuming saves. None for a hub id or alias (its name is its identity)."""
    root = Path(folder)
    if not root.is_dir():
        return None
    digest = hashlib.sha256()
    files = sorted({p for pattern in MODEL_FILES for p in root.glob(pattern) if p.is_file()})
    for path in files:
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with path.open("rb") as fh:
            for offset in sorted({0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}):
                fh.seek(offset)
                digest.update(fh.read(SAMPLE_BYTES))
    return digest.hexdigest()[:16]


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_run(out: Path, identity: Mapping[str, Any], *, overwrite: bool) -> None:
    """Refuse to mix predictions of different runs in one folder. Writes nothing: :func:`start_run` records
    the run once its inputs are known to be good, so a run that fails before starting leaves no trace."""
    run_file = out / RUN
    preds = out / PREDICTIONS
    if overwrite:
        return
    if run_file.exists() and preds.exists():
        previous = read_json(run_file)
        if not isinstance(previous, dict):
            raise CorpusFormatError(run_file, 1, "expected a JSON object (the identity of an earlier run)")
        previous = {**IDENTITY_DEFAULTS, **previous}
        changed = [k for k in RUN_IDENTITY if previous.get(k) != identity.get(k)]
        if changed:
            detail = ", ".join(f"{k}: {previous.get(k)!r} -> {identity.get(k)!r}" for k in changed)
            raise MedTunedError(f"{out} holds predictions of another run ({detail}); use a new --out or --overwrite")
    elif preds.exists() and preds.stat().st_size:
        raise MedTunedError(f"{preds} exists without {RUN}; use a new --out or --overwrite")


def start_run(out: Path, identity: Mapping[str, Any], *, overwrite: bool) -> None:
    """Record this run's identity in ``run.json`` (after :func:`check_run`); ``overwrite`` first removes the
    files an earlier evaluation wrote (and nothing else)."""
    if overwrite:
        for name in (PREDICTIONS, METRICS, RESULTS, CHART, RUN):
            (out / name).unlink(missing_ok=True)
    write_json(out / RUN, {k: identity.get(k) for k in RUN_IDENTITY} | {k: v for k, v in identity.items() if k not in RUN_IDENTITY})


def discard_unstarted(out: Path, before: set[str] | None) -> None:
    """After a failure: if no prediction was written, remove the ``run.json`` this run created (and ``out``
    itself if the run created it and it is empty), so that a run that never started leaves nothing behind."""
    preds = out / PREDICTIONS
    if preds.exists() and preds.stat().st_size:
        return
    if before is None or RUN not in before:
        (out / RUN).unlink(missing_ok=True)
    if before is None and out.is_dir() and not any(out.iterdir()):
        out.rmdir()


def write_json(path: Path, obj: Any) -> None:
    with atomic_writer(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


# -- tables and chart ---------------------------------------------------------------------------


def _percent(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.2f}"


def interval_cell(result: Mapping[str, Any]) -> str:
    """A score's interval in percent, ``[low, high]`` (a dash without one)."""
    low, high = result.get("ci_low"), result.get("ci_high")
    return "—" if low is None or high is None else f"[{100 * low:.2f}, {100 * high:.2f}]"


def level_header(results: Iterable[Mapping[str, Any]]) -> str:
    level = next((r["ci_level"] for r in results if r.get("ci_level") and r.get("n_boot")), None)
    return f"{100 * level:g}% CI" if level else "CI"


def error_bars(results: Sequence[Mapping[str, Any] | None], scale: float = 100.0) -> tuple[list[float], list[list[float]]]:
    """Bar heights and matplotlib's ``yerr`` (distances below and above) from each result's score and interval;
    a missing result is a NaN bar, a missing interval no bar."""
    scores, below, above = [], [], []
    for result in results:
        score = float("nan") if result is None else scale * float(result.get("score") or 0.0)
        low, high = (None, None) if result is None else (result.get("ci_low"), result.get("ci_high"))
        scores.append(score)
        below.append(0.0 if low is None else max(0.0, score - scale * low))
        above.append(0.0 if high is None else max(0.0, scale * high - score))
    return scores, [below, above]


def results_markdown(metrics: Mapping[str, Any], families: Mapping[str, str], reference: References) -> str:
    """Tables in the layout of the study's Tables 2–3: task, metric, our model with its interval, then the
    published columns that have a figure for the tasks of the table."""
    run = metrics["run"]
    tasks = metrics["tasks"]
    ours = run.get("model_label") or run["model"]
    sections = [
        ("Named-entity recognition", [t for t in tasks if families.get(t) == "ner"]),
        ("Relation extraction, inference, classification and QA", [t for t in tasks if families.get(t) != "ner"]),
    ]
    lines = [
        f"# Evaluation of {ours}",
        "",
        f"Split `{run['split']}`, mode `{run['mode']}`, prompt format `{run.get('format', 'alpaca')}`, backend `{run['backend']}`"
        + (f", a fixed sample of {run['limit']} examples per task (seed {run.get('seed', 0)})" if run.get("limit") else "")
        + ". Scores are percentages (the primary metric of each task; entity-level micro F1 for NER)"
        + (
            ", with a percentile bootstrap confidence interval over the unit named in the details (docs/evaluation.md)."
            if any(r.get("n_boot") for r in tasks.values())
            else "."
        ),
        "",
    ]
    for title, names in sections:
        if not names:
            continue
        shown = reference.shown(names)
        header = ["Task", "Metric", f"{ours} (ours)", level_header(tasks[n] for n in names), *(reference.header(c) for c in shown)]
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in names:
            result = tasks[name]
            row = [reference.study_name(name), str(result.get("metric", "")), _percent(result.get("score")), interval_cell(result)]
            lines.append("| " + " | ".join(row + reference.cells(shown, name)) + " |")
        lines.append("")
    lines += [
        "## Details",
        "",
        "| Task | n | unparsed | gold unparsed | CI unit | resamples | examples/s (this run) | methods |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in tasks.items():
        speed = result.get("examples_per_s")
        methods = ", ".join(f"{k} {v}" for k, v in sorted(result.get("methods", {}).items()))
        cells = [name, result.get("n"), result.get("unparsed"), result.get("gold_unparsed"), result.get("ci_unit", "—"), result.get("n_boot", 0)]
        lines.append("| " + " | ".join(map(str, cells)) + f" | {'—' if speed is None else f'{speed:.2f}'} | {methods} |")
    lines += choice_report.markdown(tasks)
    notes = reference.footnotes(tasks)
    if notes:
        lines += ["", *(f"{note}\n" for note in notes)]
    return "\n".join(lines).rstrip() + "\n"


def write_chart(path: Path, metrics: Mapping[str, Any], reference: References) -> bool:
    """A grouped bar chart: our score per task with its interval, beside each published column that has a figure."""
    tasks = metrics["tasks"]
    if not tasks:
        return False
    from ..charts import new_figure, save_png

    names = list(tasks)
    ours = metrics["run"].get("model_label") or metrics["run"]["model"]
    scores, errors = error_bars([tasks[n] for n in names])
    series = [(f"{ours} (ours)", scores), *reference.series(names)]
    width = 0.8 / len(series)
    fig = new_figure(figsize=(max(6.0, 1.2 * len(names) * len(series) ** 0.5 + 2), 4.5))
    ax = fig.subplots()
    for k, (label, values) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(names))]
        ours = k == 0  # published columns are drawn lighter, without intervals (none were published)
        ax.bar(xs, values, width=width, label=label, yerr=errors if ours else None, capsize=3, alpha=1.0 if ours else 0.55)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("score (%), ours with its interval")
    ax.set_ylim(0, 100)
    ax.set_title(f"{metrics['run']['split']} split, mode {metrics['run']['mode']}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    save_png(fig, path, dpi=120, bbox_inches="tight")  # the legend sits beside the axes
    return True


def write_reports(out: Path, metrics: Mapping[str, Any], families: Mapping[str, str], reference: References) -> None:
    write_json(out / METRICS, metrics)
    with atomic_writer(out / RESULTS) as fh:
        fh.write(results_markdown(metrics, families, reference))
    write_chart(out / CHART, metrics, reference)
