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
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CorpusFormatError, MedTunedError
from ..jsonl import atomic_path, atomic_writer, dumps
from . import choice_report

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
        for lineno, line in enumerate(data.decode("utf-8").splitlines(), 1):
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
    """Refuse to mix predictions of different runs in one folder; record this run's identity."""
    run_file = out / RUN
    preds = out / PREDICTIONS
    if overwrite:
        for name in (PREDICTIONS, METRICS, RESULTS, CHART, RUN):
            (out / name).unlink(missing_ok=True)
    elif run_file.exists() and preds.exists():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CorpusFormatError(run_file, exc.lineno, f"invalid JSON ({exc.msg})") from None
        previous = {**IDENTITY_DEFAULTS, **previous}
        changed = [k for k in RUN_IDENTITY if previous.get(k) != identity.get(k)]
        if changed:
            detail = ", ".join(f"{k}: {previous.get(k)!r} -> {identity.get(k)!r}" for k in changed)
            raise MedTunedError(f"{out} holds predictions of another run ({detail}); use a new --out or --overwrite")
    elif preds.exists() and preds.stat().st_size:
        raise MedTunedError(f"{preds} exists without {RUN}; use a new --out or --overwrite")
    write_json(run_file, {k: identity.get(k) for k in RUN_IDENTITY} | {k: v for k, v in identity.items() if k not in RUN_IDENTITY})


def write_json(path: Path, obj: Any) -> None:
    with atomic_writer(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


# -- published reference figures --------------------------------------------------------------


def load_reference(path: str | Path | None = None) -> dict[str, Any]:
    """Published figures to print beside ours: the file shipped with MedTuned, or a user's file of the same shape."""
    try:
        text = Path(path).read_text(encoding="utf-8") if path else resources.files(__package__).joinpath("reference_results.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MedTunedError(f"{path}: reference file not found") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(path or "reference_results.json", exc.lineno, f"invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list) or not isinstance(data.get("tasks"), dict):
        raise CorpusFormatError(path or "reference_results.json", 1, "expected {'source', 'columns': [...], 'tasks': {task: {...}}}")
    return data


def _percent(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.2f}"


def _reference_cell(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}"


def results_markdown(metrics: Mapping[str, Any], families: Mapping[str, str], reference: Mapping[str, Any]) -> str:
    """Tables in the layout of the study's Tables 2–3: task, metric, our model, then the published columns."""
    run = metrics["run"]
    tasks = metrics["tasks"]
    ours = run.get("model_label") or run["model"]
    columns = list(reference.get("columns", []))
    header = ["Task", "Metric", f"{ours} (ours)", *columns]
    sections = [
        ("Named-entity recognition", [t for t in tasks if families.get(t) == "ner"]),
        ("Relation extraction, inference, classification and QA", [t for t in tasks if families.get(t) != "ner"]),
    ]
    lines = [
        f"# Evaluation of {ours}",
        "",
        f"Split `{run['split']}`, mode `{run['mode']}`, prompt format `{run.get('format', 'alpaca')}`, backend `{run['backend']}`"
        + (f", a fixed sample of {run['limit']} examples per task (seed {run.get('seed', 0)})" if run.get("limit") else "")
        + ". Scores are percentages (the primary metric of each task; entity-level micro F1 for NER).",
        "",
    ]
    for title, names in sections:
        if not names:
            continue
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in names:
            result = tasks[name]
            ref = reference.get("tasks", {}).get(name, {})
            values = ref.get("values", {})
            row = [ref.get("study_name", name), str(result.get("metric", "")), _percent(result.get("score"))]
            row += [_reference_cell(values.get(c)) for c in columns]
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += ["## Details", "", "| Task | n | unparsed | gold unparsed | examples/s (this run) | methods |", "|---|---|---|---|---|---|"]
    for name, result in tasks.items():
        speed = result.get("examples_per_s")
        methods = ", ".join(f"{k} {v}" for k, v in sorted(result.get("methods", {}).items()))
        lines.append(
            f"| {name} | {result.get('n')} | {result.get('unparsed')} | {result.get('gold_unparsed')} | {'—' if speed is None else f'{speed:.2f}'} | {methods} |"
        )
    lines += choice_report.markdown(tasks)
    lines += ["", "Reference columns: " + str(reference.get("source", "")).strip()]
    note = str(reference.get("note", "")).strip()
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def write_chart(path: Path, metrics: Mapping[str, Any], reference: Mapping[str, Any]) -> bool:
    """A grouped bar chart: our score per task beside each published column that has a figure."""
    tasks = metrics["tasks"]
    if not tasks:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(tasks)
    ours = metrics["run"].get("model_label") or metrics["run"]["model"]
    series = [(f"{ours} (ours)", [100 * float(tasks[n].get("score") or 0.0) for n in names])]
    for column in reference.get("columns", []):
        values = [reference.get("tasks", {}).get(n, {}).get("values", {}).get(column) for n in names]
        if any(v is not None for v in values):
            series.append((column, [float("nan") if v is None else float(v) for v in values]))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) * len(series) ** 0.5 + 2), 4.5))
    for k, (label, values) in enumerate(series):
        xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, values, width=width, label=label)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{metrics['run']['split']} split, mode {metrics['run']['mode']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True


def write_reports(out: Path, metrics: Mapping[str, Any], families: Mapping[str, str], reference: Mapping[str, Any]) -> None:
    write_json(out / METRICS, metrics)
    with atomic_writer(out / RESULTS) as fh:
        fh.write(results_markdown(metrics, families, reference))
    write_chart(out / CHART, metrics, reference)


def ordered_rows(store: PredictionStore, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The stored rows for ``keys`` in that order (corpus order), skipping keys not computed."""
    return [store.rows[k] for k in keys if k in store.rows]
