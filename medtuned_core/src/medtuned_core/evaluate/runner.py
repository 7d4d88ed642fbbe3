"""``evaluate()``: render every task split through the hooks, run the model, parse and score through the hooks.

Per row the method is ``generate`` (free greedy decoding), ``tag`` (constrained labels for rows with a
``tagging`` hint) or ``rank`` (one of the row's ``choices``, picked by the ``choice_scoring`` of choices.py:
constrained greedy by default). ``mode="generate"`` uses free generation everywhere, as the study did;
``mode="score"`` tags or ranks wherever a hint allows and falls back to generation for free-text answers.
``permute_choices="cyclic"`` asks every multiple-choice question once per rotation of its options
(permute.py); choice_report.py reports answer distributions, every scoring and the position figures.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import stats
from ..corpus import require_data_dir
from ..errors import MedTunedError, PluginError
from ..ownership import owns_output
from ..plugins import Registry, get_registry
from ..prompt import ALPACA_FORMAT, AUTO, PromptFormat, bind_format, format_for_model
from ..render import load_templates, render_split, sample_rows
from ..scoring import error_entry, parse_row, score_parsed
from . import choice_report, data_parallel, permute, results
from . import choices as scorings
from .backend import CAPABILITIES, Backend, make_backend
from .constrained import TaggingHint, TaggingHintError
from .generate import DEFAULT_MAX_NEW_TOKENS, budget
from .request import GENERATE, RANK, TAG, Request

MODES = ("generate", "score")
TAGGING = ("verify", "incremental")


def _dtype_identity(model: Any, backend: str, dtype: Any) -> str | None:
    """The dtype a run computes in, for run.json: ``auto`` as what it resolves to when this process loads the model."""
    if backend == "hf" and isinstance(model, str):
        from ..models import dtype_name

        return dtype_name(dtype)
    return None if dtype is None else str(dtype)


def choose_method(row: Mapping[str, Any], mode: str, capabilities: Collection[str] = CAPABILITIES) -> tuple[str, TaggingHint | None, list[str] | None]:
    """The method for a row: in score mode, tag or rank where the row's hints allow it and the backend can;
    generation (then parsing) otherwise."""
    if mode == "score":
        if TAG in capabilities and isinstance(row.get("tagging"), Mapping):
            try:
                return TAG, TaggingHint.from_row(row["tagging"]), None
            except TaggingHintError:
                pass  # an unusable hint: generate instead (counted in the methods summary)
        choices = row.get("choices")
        if RANK in capabilities and isinstance(choices, list) and choices and all(isinstance(c, str) and c for c in choices):
            return RANK, None, list(choices)
    return GENERATE, None, None


def make_requests(
    backend: Backend,
    rows: Sequence[dict[str, Any]],
    mode: str,
    max_new_tokens: int,
    expected_tokens: int | None = None,
    floor: int = 0,
    fmt: PromptFormat = ALPACA_FORMAT,
) -> list[Request]:
    """Requests in the prompt format ``fmt``, with a new-token budget from the expected output length.

    Tagging rows: the answer's length is known from the input (the form with any label). Choice rows: the
    longest choice. Other rows: the longest reference answer of the task (a per-task budget, so no row's
    gold length leaks into its own decoding), or ``expected_tokens`` when given (no references at hand).
    ``floor`` is the task's own budget (``TaskInfo.max_new_tokens``): generation gets at least that many
    tokens, so that "The answer is ... because ..." is not cut before the answer (never above ``max_new_tokens``)."""
    requests = []
    for row in rows:
        method, hint, choices = choose_method(row, mode, backend.capabilities)
        if method == GENERATE and isinstance(row.get("tagging"), Mapping):
            try:
                hint = TaggingHint.from_row(row["tagging"])
            except TaggingHintError:
                hint = None
        if method == GENERATE and isinstance(row.get("choices"), list):
            choices = [c for c in row["choices"] if isinstance(c, str)] or None
        requests.append(Request.for_row(row, fmt, method=method, hint=hint, choices=choices))
    free = [r for r in requests if r.method == GENERATE and r.hint is None and not r.choices]
    task_cap = expected_tokens if expected_tokens is not None else max(backend.count_tokens([r.row["output"] for r in free]), default=0)
    for request in requests:
        if request.method != GENERATE:
            continue
        if request.hint is not None:
            expected = backend.count_tokens([request.hint.render([request.hint.labels[0]] * len(request.hint.tokens))])[0]
        elif request.choices:
            expected = max(backend.count_tokens(request.choices))
        else:
            expected = task_cap
        request.max_new_tokens = min(max_new_tokens, max(budget(expected, max_new_tokens), floor))
    return requests


def batches(requests: Sequence[Request], batch_size: int) -> Iterator[list[Request]]:
    """Batches of one method, sorted by length so that little padding is run. Generation sorts by prompt
    length; tag/rank by the input's length, since their instruction blocks come from a shared cache and
    what a row feeds is its input and its answer."""
    by_method: dict[str, list[Request]] = {}
    for request in requests:
        by_method.setdefault(request.method, []).append(request)
    for method in (TAG, RANK, GENERATE):
        group = by_method.get(method, [])
        if method == GENERATE:
            group.sort(key=lambda r: len(r.prompt))
        else:
            group.sort(key=lambda r: (len(r.row["input"]), len(r.prompt)))
        for i in range(0, len(group), batch_size):
            yield group[i : i + batch_size]


def run_batch(backend: Backend, batch: Sequence[Request], task: str, choice_scoring: str = scorings.DEFAULT_SCORING) -> list[tuple[str, dict[str, Any]]]:
    """``(prediction text, decode diagnostics)`` per request; a ranked row's text is its ``choice_scoring`` pick."""
    method = batch[0].method
    if method == TAG:
        return [(o.text, o.diagnostics()) for o in backend.tag(batch, key=task)]
    if method == RANK:
        return [(scorings.primary(o.choice, d, choice_scoring), d) for o in backend.rank(batch) for d in [o.diagnostics()]]
    budget_tokens = max(r.max_new_tokens for r in batch)
    return [(text, {"max_new_tokens": budget_tokens}) for text in backend.generate(batch, budget_tokens)]


RANK_REASONS = {
    scorings.GREEDY: "rank: constrained greedy over the choices",
    scorings.LOGLIK: "rank: choices by log-likelihood without the answer end",
    scorings.LOGLIK_NORM: "rank: choices by log-likelihood per character",
    scorings.LOGLIK_EOS: "rank: choices by log-likelihood with the answer end",
}


def method_reason(row: Mapping[str, Any], method: str, mode: str, backend: Backend, choice_scoring: str = scorings.DEFAULT_SCORING) -> str:
    """Why a row got its method, as metrics.json states it per task (e.g. ``rank: constrained greedy over the choices``)."""
    if method == TAG:
        return "tag: constrained labels (tagging hint)"
    if method == RANK:
        return RANK_REASONS[choice_scoring]
    if mode != "score":
        return "generate+parse: --mode generate"
    wanted = TAG if isinstance(row.get("tagging"), Mapping) else (RANK if isinstance(row.get("choices"), list) and row["choices"] else None)
    if wanted is None:
        return "generate+parse: free-text answer (no tagging or choices hint)"
    if wanted in backend.capabilities:
        return f"generate+parse: the row's {'tagging' if wanted == TAG else 'choices'} hint is unusable"
    why = (getattr(backend, "limits", None) or {}).get(wanted) or f"{wanted} is not among its capabilities"
    return f"generate+parse: backend {backend.name} cannot {wanted}: {why}"


def answers(
    backend: Backend,
    requests: Sequence[Request],
    batch_size: int,
    task: str,
    shard: data_parallel.Shard | None = None,
    choice_scoring: str = scorings.DEFAULT_SCORING,
) -> Iterator[list[tuple[Request, str, dict[str, Any]]]]:
    """This process's answers, in groups to store at once: per batch for a batch backend, one by one as they
    arrive for a backend with ``stream`` (an API: each paid answer is on disk before the next arrives)."""
    shard = shard or data_parallel.Shard()
    stream = getattr(backend, "stream", None)
    if stream is not None:
        by_method: dict[str, list[Request]] = {}
        for request in requests:
            by_method.setdefault(request.method, []).append(request)
        for group in by_method.values():
            mine = shard.pick(group)
            for i, text, decode in stream(mine, task):
                yield [(mine[i], scorings.primary(text, decode, choice_scoring) if mine[i].method == RANK else text, decode)]
        return
    for batch in shard.pick(list(batches(requests, batch_size))):
        yield [(request, text, decode) for request, (text, decode) in zip(batch, run_batch(backend, batch, task, choice_scoring), strict=True)]


def prediction_row(registry: Registry, request: Request, text: str, decode: dict[str, Any], mode: str) -> dict[str, Any]:
    """A score-format row (+ prompt, method, parse result) for predictions.jsonl."""
    row = request.row
    out = {
        "task": row["task"],
        "id": str(row["id"]),
        "input": row["input"],
        "reference": row["output"],
        "prediction": text,
        "prompt": request.prompt,
        "template_id": row.get("template_id"),
        "mode": mode,
        "method": request.method,
        **permute.rotation_fields(row),
    }
    try:
        parsed = parse_row(registry, out)
    except PluginError as exc:  # the task's parse hook failed: keep the raw answer; scoring reports the task's error
        out.update(parsed=None, parse_ok=False, diagnostics={"parse_error": str(exc)}, reference_parsed=None, decode=decode)
        return out
    out["parsed"] = parsed.pred.value
    out["parse_ok"] = parsed.pred.ok
    out["diagnostics"] = parsed.pred.diagnostics
    out["reference_parsed"] = parsed.gold.value
    out["decode"] = decode
    return out


# Rank 0 of a data-parallel run holds the folder for all ranks (the others only write their part files in it).
@owns_output(lambda out, **_: out if data_parallel.launched_rank() == 0 else None, on_error=results.discard_unstarted)
def evaluate(
    model: Any,
    tasks: Sequence[str] | str | None = None,
    data_dir: str | Path | None = None,
    split: str = "test",
    out: str | Path | None = None,
    mode: str = "generate",
    limit: int | None = None,
    *,
    family: str | None = None,
    backend: str = "hf",
    batch_size: int = 8,
    templates: str | Path | Mapping[str, Sequence[str]] | None = None,
    seed: int = 0,
    options: Mapping[str, Any] | None = None,
    dtype: Any = None,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    tagging: str = "verify",
    lookahead: int | None = None,
    max_passes: int | None = None,
    chunk_tokens: int | str | None = "auto",
    share_prefix: bool = True,
    reference: str | Path | None = None,
    overwrite: bool = False,
    registry: Registry | None = None,
    progress: bool = True,
    model_label: str | None = None,
    n_boot: int = stats.DEFAULT_N_BOOT,
    ci: float = stats.DEFAULT_LEVEL,
    backend_options: Mapping[str, Any] | None = None,
    prompt_format: str = AUTO,
    system_prompt: str | None = None,
    choice_scoring: str = scorings.DEFAULT_SCORING,
    permute_choices: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``tasks`` (names, a comma-separated string, or all of ``family``) and write to ``out``.

    ``model`` is a folder, hub id or alias (``smollm2-135m``), a ``(model, tokenizer)`` pair, or a backend.
    ``prompt_format`` ``auto`` (``prompt.choose_format``): what a MedTuned export records, else ``chat`` when the
    tokenizer has a chat template, else ``alpaca``; ``system_prompt`` (chat) replaces the template's default.
    ``choice_scoring`` (score mode): how a choice row's answer is picked (choices.py; every scoring is reported
    in the task's ``choices`` entry); ``permute_choices="cyclic"``: the position-bias control (permute.py).
    Returns the metrics written to ``out/metrics.json``: ``{"run": {...}, "tasks": {task: {"metric", "score",
    "n", "unparsed", "gold_unparsed", "examples_per_s", "methods", ...details}}}``. Rerunning with the same
    settings resumes: rows already in ``predictions.jsonl`` are kept, the rest computed. Each score gets a
    bootstrap interval at level ``ci`` from ``n_boot`` resamples (0: none; stats.py).
    """
    if mode not in MODES:
        raise MedTunedError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if tagging not in TAGGING:
        raise MedTunedError(f"unknown tagging algorithm {tagging!r}: choose one of {', '.join(TAGGING)}")
    if batch_size < 1:
        raise MedTunedError("--batch-size must be at least 1")
    stats.check_n_boot(n_boot)
    stats.check_level(ci)
    if limit is not None and limit < 1:
        raise MedTunedError(f"--limit must be at least 1, got {limit}")
    scorings.check_scoring(choice_scoring)
    permutation = permute.check_permutation(permute_choices)
    require_data_dir(data_dir)
    if out is None:
        raise MedTunedError("no output folder: pass --out")
    registry = registry or get_registry()
    names = [t.strip() for t in tasks.split(",") if t.strip()] if isinstance(tasks, str) else (list(tasks) if tasks else None)
    selected = registry.select(names, family)
    if not selected:
        raise MedTunedError(f"no task selected (tasks={names}, family={family}); `medtuned list-tasks` shows them")
    templates_path = Path(templates) if isinstance(templates, (str, Path)) else None
    custom = load_templates(templates_path, known=registry, used_by=[t.name for t in selected]) if templates_path else (dict(templates) if templates else None)
    reference_data = results.load_reference(reference)
    out = Path(out)
    # The corpora first: a missing or broken data file is the error a user sees, before any model is looked at.
    rendered = {
        t.name: sample_rows(list(render_split(registry, t, data_dir, split, seed, custom, dict(options or {}))), limit, seed, t.name, split) for t in selected
    }
    model_name = _model_name(model)
    fmt = format_for_model(model, prompt_format, system_prompt)
    identity = {
        "model": str(model_name),
        "model_fingerprint": results.model_fingerprint(model_name) if isinstance(model, str) else None,
        "mode": mode,
        "format": fmt.name,
        "system_prompt": fmt.system_prompt,
        "backend": backend,
        "split": split,
        "seed": seed,
        "templates_sha256": results.file_sha256(templates_path)
        if templates_path
        else (results.text_sha256(json.dumps(custom, sort_keys=True)) if custom else None),
        "options": dict(options or {}),
        "tagging": tagging if mode == "score" else None,
        "choice_scoring": choice_scoring if mode == "score" else None,
        "permute_choices": permutation,
        "lookahead": (0 if tagging == "incremental" else lookahead) if mode == "score" else None,
        "max_passes": max_passes if mode == "score" else None,
        "max_new_tokens": max_new_tokens,
        "dtype": _dtype_identity(model, backend, dtype),
        "tasks": [t.name for t in selected],
        "limit": limit,
        "data_dir": str(data_dir),
        "backend_options": dict(backend_options or {}),  # recorded, not compared: a server may move; never an API key
    }
    shard = data_parallel.current_shard()
    # Refuse another run's folder before any model loads; run.json is written (start_run) only after this check.
    shard.on_main(lambda: results.check_run(out, identity, overwrite=overwrite))
    if permutation:
        rendered = {name: permute.expand(rows) for name, rows in rendered.items()}
    corpus_order = [(name, str(r["id"])) for name, rows in rendered.items() for r in rows]
    try:
        shard.on_main(lambda: _prepare_out(out, identity, overwrite, corpus_order))
        shard.barrier()  # rank 0 has checked the folder and merged what a killed run left
        store = results.PredictionStore(out / results.PREDICTIONS).open()
        writer = store if shard.size == 1 else results.PredictionStore(data_parallel.part_path(out, shard.rank)).open()
        settings = {
            "dtype": dtype,
            "lookahead": 0 if tagging == "incremental" else lookahead,
            "max_passes": max_passes,
            "share_prefix": share_prefix,
            "chunk_tokens": chunk_tokens,
            "prompt_format": fmt,
        }
        loaded: list[Backend] = []

        def get_backend() -> Backend:
            if not loaded:
                loaded.append(make_backend(backend, model, registry=registry, options=backend_options, **settings))
                data_parallel.adopt_backend_groups(shard, loaded[0])
            return loaded[0]

        if shard.size > 1:
            get_backend()  # every rank loads before any computes: a backend's own parallel groups form at load
        speeds: dict[str, float | None] = {}
        with _progress(progress and shard.main) as bar:
            for task in selected:
                rows = rendered[task.name]
                pending = [r for r in rows if (task.name, str(r["id"])) not in store]
                bar_id = bar.add_task(task.name, total=len(rows), completed=len(rows) - len(pending)) if bar else None
                speeds[task.name] = None
                if not pending:
                    continue
                engine = get_backend()
                requests = make_requests(engine, pending, mode, max_new_tokens, floor=task.max_new_tokens, fmt=bind_format(fmt, engine))
                started, done = time.perf_counter(), 0
                for group in answers(engine, requests, batch_size, task.name, shard, choice_scoring):
                    stored = []
                    for request, text, decode in group:
                        row = prediction_row(registry, request, text, decode, mode)
                        row["method_reason"] = method_reason(request.row, request.method, mode, engine, choice_scoring)
                        stored.append(row)
                    if shard.writes:
                        writer.append(stored)
                    done += len(group) * shard.shares  # rank 0 shows its share scaled up: the others run at about its pace
                    if bar:
                        bar.update(bar_id, advance=len(group) * shard.shares, rate=done / max(time.perf_counter() - started, 1e-9))
                shard.barrier()
                speeds[task.name] = len(pending) / max(time.perf_counter() - started, 1e-9)
        shard.barrier()
        facts = _backend_facts(loaded[0]) if loaded else {}

        def report() -> dict[str, Any]:
            data_parallel.merge_parts(out, store, corpus_order)
            metrics = build_metrics(registry, store, rendered, speeds, identity, model_label, n_boot=n_boot, ci=ci)
            metrics["run"].update(facts, processes=shard.size)
            results.write_reports(out, metrics, {t.name: t.family for t in selected}, reference_data)
            return metrics

        metrics = shard.on_main(report)
        shard.barrier()
        if metrics is None:  # other ranks: what rank 0 wrote
            metrics = json.loads((out / results.METRICS).read_text(encoding="utf-8"))
        return metrics
    finally:
        shard.close()


def _prepare_out(out: Path, identity: Mapping[str, Any], overwrite: bool, corpus_order: Sequence[tuple[str, str]]) -> None:
    """Record the run in ``out`` (clearing an earlier one with ``overwrite``), then fold in the part files a
    killed data-parallel run left, in corpus order."""
    if overwrite:
        for part in out.glob(data_parallel.PART.format(rank="*")):
            part.unlink()
    results.start_run(out, identity, overwrite=overwrite)
    if any(out.glob(data_parallel.PART.format(rank="*"))):  # only then is predictions.jsonl read here (evaluate reads it next)
        data_parallel.merge_parts(out, results.PredictionStore(out / results.PREDICTIONS).open(), corpus_order)


def _backend_facts(engine: Backend) -> dict[str, Any]:
    """What a reader of metrics.json needs to know about the backend that ran (e.g. how budgets were counted)."""
    facts: dict[str, Any] = {"backend_capabilities": sorted(engine.capabilities)}
    note = getattr(engine, "tokenizer_note", None)
    if note:
        facts["token_counts"] = note
    return facts


def build_metrics(
    registry: Registry,
    store: results.PredictionStore,
    rendered: Mapping[str, Sequence[dict[str, Any]]],
    speeds: Mapping[str, float | None],
    identity: Mapping[str, Any],
    model_label: str | None = None,
    *,
    n_boot: int = stats.DEFAULT_N_BOOT,
    ci: float = stats.DEFAULT_LEVEL,
) -> dict[str, Any]:
    """Scores re-parsed from the stored raw predictions (what ``medtuned score`` computes), with their
    bootstrap intervals, plus run facts."""
    tasks: dict[str, Any] = {}
    for name, rows in rendered.items():
        done = [(r, store.rows[(name, str(r["id"]))]) for r in rows if (name, str(r["id"])) in store]
        stored = [row for r, row in done if permute.is_plain(r)]  # rotations are not the task's examples
        if not stored:
            continue
        try:
            parsed = [parse_row(registry, row) for _, row in done]
        except PluginError as exc:  # the task's parse hook failed: an error entry; the other tasks are still scored
            parsed, scored = [], error_entry(exc, len(stored))
        else:
            examples = [p for (r, _), p in zip(done, parsed, strict=True) if permute.is_plain(r)]
            scored = score_parsed(registry, examples, n_boot=n_boot, level=ci)[name]  # a failing score hook: an error entry
        scored["examples_per_s"] = None if speeds.get(name) is None else round(speeds[name], 4)
        scored["methods"] = dict(Counter(r.get("method", "generate") for r in stored))
        scored["method_reasons"] = dict(Counter(r["method_reason"] for r in stored if r.get("method_reason")))
        if "error" in scored:
            tasks[name] = scored
            continue
        report = choice_report.task_report(
            registry,
            name,
            [choice_report.ChoiceRow(r, p) for (r, _), p in zip(done, parsed, strict=True)],
            identity.get("choice_scoring") or scorings.DEFAULT_SCORING,
        )
        if report is not None:
            scored["choices"] = report
        tasks[name] = scored
    run = {**identity, "model_label": model_label or _label(str(identity["model"]))}
    return {"run": run, "tasks": tasks}


def _model_name(model: Any) -> str:
    """What identifies the model in run.json: a folder's absolute path, an alias or hub id as given, or
    the name an in-memory model or backend carries."""
    if isinstance(model, str):
        return str(Path(model).resolve()) if Path(model).is_dir() else model
    name = getattr(model, "model_name", None)
    if name:
        return str(name)
    first = model[0] if isinstance(model, tuple) else model
    config = getattr(first, "config", None)
    return str(getattr(config, "name_or_path", "") or type(first).__name__)


GENERIC_FOLDERS = {"model", "export", "final", "checkpoint", "hf"}


def _label(model: str) -> str:
    """A short name for tables: the folder name (with its parent when the name alone says nothing)."""
    path = Path(model)
    if path.name in GENERIC_FOLDERS and path.parent.name:
        return f"{path.parent.name}/{path.name}"
    return path.name or model


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool) -> Any:
    """A rich progress display on stderr, one bar per task with its examples/s (or nothing)."""
    if not enabled:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Examples per second computed in this run (resumed rows are not counted)."""

        def render(self, task: Any) -> Text:
            rate = task.fields.get("rate")
            return Text("" if rate is None else f"{rate:.2f} ex/s", style="cyan")

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
