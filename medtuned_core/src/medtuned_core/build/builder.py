"""``build_mix``: a mix spec + a data root -> an instruction dataset folder.

Stages (each streams; nothing holds the rows of the mix):

1. resolve the spec against the registry (unknown tasks, splits and sources are errors);
2. survey the data: every folder and split file must exist (else one error lists each missing one,
   or ``allow_missing`` records and skips it), and entries taking a count or fraction are counted;
3. index the inputs of the evaluation splits (the leakage guard);
4. select, render and check each entry's rows, writing them to shuffle shards and counting lengths;
5. emit ``train.jsonl`` / ``validation.jsonl`` in seeded shuffle order, then ``dataset/`` (parquet shards),
   ``manifest.json``, ``report.md``, ``dataset/README.md`` (the dataset card), ``composition.png`` and ``run.json``;
6. rename the staging folder to ``out`` (nothing is left behind on failure or Ctrl-C).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import itertools
import platform
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cards import dataset_card, write_card
from ..errors import MedTunedError, MissingDataError, PluginError
from ..jsonl import dumps
from ..ownership import owns_output
from ..plugins import Registry
from ..render import alpaca, load_templates, render_examples
from ..types import TaskInfo
from .leakage import EvalIndex
from .manifest import MANIFEST_FORMAT, dumps_manifest, hash_folder, package_versions, sha256_file
from .report import Composition, load_measure, markdown, rich_table, save_chart
from .sampler import WHOLE, EntrySampler
from .shuffle import DEFAULT_SHARD_BYTES, ExternalShuffle, row_key
from .spec import MixEntry, MixSpec
from .writer import CHAT_FIELD, OUTPUT_FIELDS, check_target, save_dataset, staging_folder, write_lines


class MissingSourcesError(MedTunedError):
    """Data the spec needs is absent; lists each missing folder or file and how to obtain it."""

    def __init__(self, missing: Sequence[dict[str, Any]]):
        self.missing = list(missing)
        # A task used both for training and as an eval split is one missing folder: say it once.
        grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for m in missing:
            grouped.setdefault((m["task"], m["message"]), []).append(m)
        lines = [f"{len(grouped)} source(s) missing — supply them under --data-dir, or pass --allow-missing to build without them:"]
        for (task, message), uses in grouped.items():
            first = uses[0]
            how = first.get("how_to_obtain") or ""
            how = f" How to obtain: {how}" if how and how not in message else ""
            access = " [credentialed]" if first.get("access") == "credentialed" else ""
            used_as = ", ".join(dict.fromkeys(f"{u['used_as']} {u['split']}" if u["used_as"] == "eval" else u["used_as"] for u in uses))
            lines.append(f"  - {task} ({used_as}){access}: {message}{how}")
        super().__init__("\n".join(lines))


@dataclass
class _Job:
    """One resolved entry or eval split."""

    task: TaskInfo
    split: str
    options: dict[str, Any]
    used_as: str  # "train", "validation" or "eval"
    entry: MixEntry | None = None
    sampler: EntrySampler | None = None
    available: bool = True
    kept: int = 0
    kept_by_source: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return f"{self.task.name}/{self.split}"


@dataclass
class BuildResult:
    out: Path
    manifest: dict[str, Any]
    composition: Composition
    seconds: float


# -- progress -------------------------------------------------------------------------------------


class _Progress:
    """Rich progress bars on a console, or nothing. Row ticks are batched: rich locks on every update."""

    EVERY = 1024

    def __init__(self, console: Any | None):
        self.bar = None
        if console is not None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def track(self, items: Iterable[Any], description: str, total: int | None = None) -> Iterator[Any]:
        if self.bar is None:
            yield from items
            return
        task_id = self.bar.add_task(description, total=total)
        done = pending = 0
        for item in items:
            yield item
            pending += 1
            if pending == self.EVERY:
                self.bar.advance(task_id, pending)
                done, pending = done + pending, 0
        self.bar.update(task_id, completed=done + pending, total=done + pending)

    @contextlib.contextmanager
    def step(self, description: str) -> Iterator[None]:
        """One bar for a stage without rows to count: a spinner until it is done."""
        if self.bar is None:
            yield
            return
        task_id = self.bar.add_task(description, total=None)
        yield
        self.bar.update(task_id, completed=1, total=1)


# -- the build --------------------------------------------------------------------------------------


@owns_output("out")
def build_mix(
    spec: MixSpec,
    data_dir: str | Path,
    out: str | Path,
    *,
    registry: Registry,
    seed: int | None = None,
    templates: str | Path | None = None,
    allow_missing: bool = False,
    tokenizer: str | Path | None = None,
    force: bool = False,
    console: Any | None = None,
    write_dataset: bool = True,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> BuildResult:
    """Build the instruction dataset of ``spec`` from ``data_dir`` into ``out`` (see the module doc).

    ``console`` (a rich Console) shows progress bars and the composition table; None is silent.
    """
    started, clock = _dt.datetime.now(_dt.timezone.utc), time.perf_counter()
    data_dir, out = Path(data_dir), Path(out)
    if not data_dir.is_dir():
        raise MedTunedError(f"data directory {data_dir} does not exist")
    check_target(out, force)  # before any work; the staging folder checks again at the end
    seed = seed if seed is not None else spec.seed if spec.seed is not None else 0
    measure = load_measure(tokenizer)

    jobs, evals, missing = _resolve(spec, registry)
    used_tasks = {j.task.name: j.task for j in (*jobs, *evals)}
    custom = load_templates(templates, known=registry, used_by=used_tasks) if templates else None
    composition = Composition({name: t.family for name, t in used_tasks.items()}, measure)

    with _Progress(console) as progress:
        inputs = _Inputs(registry, data_dir, allow_missing, missing)
        _survey(inputs, jobs, evals, seed, progress)
        with staging_folder(out, force=force) as staging:
            index = _index_evals(inputs, evals, seed, custom, progress)
            shuffles = {t: ExternalShuffle(staging / ".shards" / t, max_shard_bytes) for t in ("train", "validation")}
            for job in jobs:
                if job.available:
                    _render_job(inputs, job, seed, custom, index, composition, shuffles[job.used_as], progress)
            if not shuffles["train"].rows:
                raise MedTunedError("the mix selected no training rows (every training entry is missing, empty or leaked)")
            if not shuffles["validation"].rows:
                del shuffles["validation"]  # no validation.jsonl unless the spec put rows there
            outputs = {}
            for target, shuffle in shuffles.items():
                name = f"{target}.jsonl"
                rows, digest = write_lines(staging / name, progress.track(shuffle.lines(), f"writing {name}", shuffle.rows))
                outputs[name] = {"rows": rows, "sha256": digest}
            shards = None
            if write_dataset:
                with progress.step("saving dataset/ (parquet shards)"):
                    shards = save_dataset({t: staging / f"{t}.jsonl" for t in shuffles}, staging / "dataset")
            hashes = _hash_inputs(data_dir, [j for j in (*jobs, *evals) if j.available], progress)
            manifest = _manifest(spec, seed, templates, custom, jobs, evals, inputs.missing, index, hashes, outputs, composition)
            (staging / "manifest.json").write_text(dumps_manifest(manifest), encoding="utf-8")
            (staging / "report.md").write_text(markdown(composition, manifest), encoding="utf-8")
            if shards is not None:
                write_card(staging / "dataset", dataset_card(manifest, used_tasks, shards, (*OUTPUT_FIELDS, CHAT_FIELD)))
            with progress.step("writing report.md and composition.png"):
                save_chart(composition, staging / "composition.png", f"{spec.name} (seed {seed})")
            seconds = time.perf_counter() - clock
            run = {
                "started": started.isoformat(timespec="seconds"),
                "seconds": round(seconds, 2),
                "data_dir": str(data_dir.resolve()),
                "out": str(out.resolve()),
                "python": platform.python_version(),
            }
            (staging / "run.json").write_text(dumps_manifest(run), encoding="utf-8")
            _remove_scratch(staging)
    if console is not None:
        for target in composition.targets():
            console.print(rich_table(composition, target, f"{target}.jsonl — {spec.name} (seed {seed})"))
    return BuildResult(out=out, manifest=manifest, composition=composition, seconds=seconds)


def _remove_scratch(staging: Path) -> None:
    import shutil

    shutil.rmtree(staging / ".shards", ignore_errors=True)


# -- stage 1: resolve -------------------------------------------------------------------------------


def _resolve(spec: MixSpec, registry: Registry) -> tuple[list[_Job], list[_Job], list[dict[str, Any]]]:
    jobs, evals, missing = [], [], []
    for item in (*spec.active, *spec.evals):
        if item.task in registry.conflicts:
            raise registry.conflicts[item.task]
        task = registry.tasks.get(item.task)
        used_as = item.target if isinstance(item, MixEntry) else "eval"
        if task is None:
            close = difflib.get_close_matches(item.task, list(registry.tasks), n=3, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            missing.append(
                {
                    "task": item.task,
                    "split": item.split,
                    "used_as": used_as,
                    "reason": "no installed plugin provides this task",
                    "message": f"no installed plugin provides task {item.task!r} ({item.where}).{hint} Install its task package (`medtuned list-tasks` shows what is installed)",
                }
            )
            continue
        if item.split not in task.splits:
            raise item.error(f"task {task.name!r} has no split {item.split!r} (it has {', '.join(task.splits)})")
        if isinstance(item, MixEntry):
            _check_sources(item, task)
            jobs.append(_Job(task, item.split, {**task.options, **item.options}, used_as, entry=item))
        else:
            evals.append(_Job(task, item.split, {**task.options, **item.options}, used_as))
    return jobs, evals, missing


def _check_sources(entry: MixEntry, task: TaskInfo) -> None:
    if not entry.sources:
        return
    if not task.sources:
        raise entry.error(f"task {task.name!r} has no sources to select from; use `take` instead of `sources`")
    for name, _ in entry.sources:
        if name not in task.sources:
            close = difflib.get_close_matches(name, task.sources, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise entry.error(f"task {task.name!r} has no source {name!r}{hint}; its sources: {', '.join(task.sources)}")


# -- stage 2: survey --------------------------------------------------------------------------------

_END = object()


class _Inputs:
    """Opens each job's examples, and keeps the list of what is missing.

    Every missing folder or split file is reported in one error. Folders are checked up front;
    a missing split file only shows when its loader starts, so when one turns up without
    ``allow_missing``, every job not yet opened is probed before the error is raised.
    """

    def __init__(self, registry: Registry, data_dir: Path, allow_missing: bool, missing: list[dict[str, Any]]):
        self.registry, self.data_dir, self.allow_missing = registry, data_dir, allow_missing
        self.missing = missing
        self.jobs: list[_Job] = []
        self._opened: set[int] = set()

    def check_folder(self, job: _Job) -> None:
        try:
            self.registry.task_dir(job.task, self.data_dir)
        except MissingDataError as exc:
            self._lost(job, exc)

    def open(self, job: _Job) -> Iterator[dict[str, Any]] | None:
        """The job's examples (the first one already read, so that a missing file shows now), or None if missing."""
        try:
            examples = iter(self.registry.load(job.task, self.data_dir, job.split, job.options))
            first = next(examples, _END)
        except MissingDataError as exc:
            self._lost(job, exc)
            self.stop_if_missing()
            return None
        self._opened.add(id(job))
        return examples if first is _END else itertools.chain((first,), examples)

    def stop_if_missing(self) -> None:
        """Without ``allow_missing``, raise one error naming everything missing (probing what is unopened)."""
        if not self.missing or self.allow_missing:
            return
        for job in self.jobs:
            if job.available and id(job) not in self._opened:
                try:
                    examples = iter(self.registry.load(job.task, self.data_dir, job.split, job.options))
                    next(examples, None)
                    getattr(examples, "close", lambda: None)()
                except MissingDataError as exc:
                    self._lost(job, exc)
        raise MissingSourcesError(self.missing)

    def _lost(self, job: _Job, exc: MissingDataError) -> None:
        job.available = False
        self.missing.append(_missing_record(job, exc, self.data_dir))


def _survey(inputs: _Inputs, jobs: list[_Job], evals: list[_Job], seed: int, progress: _Progress) -> None:
    """Check every data folder, then count the entries that sample a count or a fraction."""
    inputs.jobs = [*jobs, *evals]
    for job in inputs.jobs:
        if job.entry is not None:
            job.sampler = EntrySampler(job.entry, seed, bool(job.task.sources))
        if job.available:
            inputs.check_folder(job)
    inputs.stop_if_missing()
    for job in jobs:
        if not job.available:
            continue
        if job.sampler.needs_count:
            examples = inputs.open(job)
            if examples is not None:
                job.sampler.count(progress.track(examples, f"counting {job.label}"))
        else:
            job.sampler.plan(None)


def _missing_record(job: _Job, exc: MissingDataError, data_dir: Path) -> dict[str, Any]:
    expected = Path(exc.expected)
    try:
        relative = expected.relative_to(data_dir).as_posix()
    except ValueError:
        relative = expected.name
    return {
        "task": job.task.name,
        "split": job.split,
        "used_as": job.used_as,
        "folder": relative,
        "access": job.task.access,
        "how_to_obtain": job.task.how_to_obtain,
        "reason": "folder not found" if expected == data_dir / job.task.data_folder else "file not found",
        "message": str(exc),
    }


# -- stage 3: the leakage index ---------------------------------------------------------------------


def _index_evals(inputs: _Inputs, evals: list[_Job], seed: int, custom: Mapping[str, Sequence[str]] | None, progress: _Progress) -> EvalIndex:
    index = EvalIndex()
    for job in evals:
        examples = inputs.open(job) if job.available else None
        if examples is not None:
            rows = render_examples(inputs.registry, job.task, examples, job.split, seed, custom)
            index.add_split(job.label, progress.track(rows, f"indexing eval {job.label}"))
    return index


# -- stage 4: render --------------------------------------------------------------------------------


def _render_job(
    inputs: _Inputs,
    job: _Job,
    seed: int,
    custom: Mapping[str, Sequence[str]] | None,
    index: EvalIndex,
    composition: Composition,
    shuffle: ExternalShuffle,
    progress: _Progress,
) -> None:
    examples = inputs.open(job)
    if examples is None:
        return
    sampler, options_key = job.sampler, job.entry.options_key()
    for example in progress.track(sampler.select(examples), f"rendering {job.label} → {job.used_as}", sampler.quota_total):
        # One example at a time, so that its `source` is known for per-source accounting.
        row = next(render_examples(inputs.registry, job.task, (example,), job.split, seed, custom))
        if not isinstance(row["input"], str) or not isinstance(row["output"], str):
            raise PluginError(f"task {job.task.name!r}: the render hook gave a non-text input or output for example {row['id']!r}")
        if job.used_as == "train" and index.leaks(job.label, row["input"]):
            continue
        record = alpaca(row)
        composition.add(job.used_as, record)
        shuffle.add(row_key(seed, job.task.name, job.split, options_key, record["id"]), dumps(record))
        job.kept += 1
        source = example.get("source") if job.task.sources else None
        if source is not None:
            job.kept_by_source[str(source)] += 1


# -- stage 5: manifest ------------------------------------------------------------------------------


def _hash_inputs(data_dir: Path, jobs: list[_Job], progress: _Progress) -> dict[str, Any]:
    folders: dict[str, dict[str, str]] = {}
    out = {}
    tasks = {j.task.name: j.task for j in jobs}
    for name in progress.track(sorted(tasks), "hashing input files", len(tasks)):
        folder = tasks[name].data_folder
        if folder not in folders:
            folders[folder] = hash_folder(data_dir / folder)
        out[name] = {"folder": folder, "files": folders[folder]}
    return out


def _entry_record(job: _Job, index: EvalIndex) -> dict[str, Any]:
    sampler, entry = job.sampler, job.entry
    record: dict[str, Any] = {"task": job.task.name, "split": job.split, "target": job.used_as, "options": dict(sorted(job.options.items()))}
    if not job.available:
        return {**record, "missing": True}
    if entry.sources:
        record["requested"] = {name: take.to_json() for name, take in entry.sources}
    else:
        record["requested"] = entry.take.to_json()
    record["available"] = sampler.rows_seen
    record["selected"] = sampler.selected
    record["dropped_leaking"] = index.dropped_rows.get(job.label, 0) if job.used_as == "train" else 0
    record["taken"] = job.kept
    if job.task.sources:
        per_source = {}
        for name in sorted(set(sampler.source_seen) | set(sampler.buckets) - {WHOLE}):
            bucket = sampler.buckets.get(name)
            per_source[name] = {
                "requested": (bucket.take.to_json() if bucket else 0) if sampler.per_source else None,
                "available": sampler.source_seen.get(name, 0),
                "taken": job.kept_by_source.get(name, 0),
            }
        record["sources"] = per_source
    record["shortfalls"] = sampler.shortfalls
    return record


def _templates_record(templates: str | Path | None, custom: Mapping[str, Sequence[str]] | None, used: Mapping[str, TaskInfo]) -> dict[str, Any] | None:
    """The templates file and the tasks whose instructions it replaced in this build."""
    if not templates or not custom:
        return None
    return {"file": Path(templates).name, "sha256": sha256_file(Path(templates)), "tasks": sorted(set(custom) & set(used))}


def _manifest(
    spec: MixSpec,
    seed: int,
    templates: str | Path | None,
    custom: Mapping[str, Sequence[str]] | None,
    jobs: list[_Job],
    evals: list[_Job],
    missing: list[dict[str, Any]],
    index: EvalIndex,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    composition: Composition,
) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    families: dict[str, dict[str, int]] = {}
    for target in composition.targets():
        per_task: Counter[str] = Counter()
        per_family: Counter[str] = Counter()
        for job in jobs:
            if job.used_as == target and job.available:
                per_task[job.task.name] += job.kept
                per_family[job.task.family] += job.kept
        counts[target] = dict(sorted(per_task.items()))
        families[target] = dict(sorted(per_family.items()))
    used = {j.task.name: j.task for j in (*jobs, *evals) if j.available}
    return {
        "format": MANIFEST_FORMAT,
        "spec_origin": spec.origin,
        "spec_sha256": spec.sha256,
        "spec": spec.to_json(),
        "seed": seed,
        "templates": _templates_record(templates, custom, used),
        "packages": package_versions(used[n] for n in sorted(used)),
        "inputs": inputs,
        "entries": [_entry_record(j, index) for j in jobs],
        "counts": counts,
        "families": families,
        "missing": [{k: v for k, v in m.items() if k != "message"} for m in missing],
        "leakage": index.to_json(),
        "outputs": outputs,
    }
