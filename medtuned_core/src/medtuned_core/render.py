"""Rendering task examples into Alpaca rows through the load and render hooks."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import CorpusFormatError, MedTunedError
from .io import read_json
from .plugins import Registry
from .prompt import chat_messages
from .types import TaskInfo

ALPACA_KEYS = ("instruction", "input", "output")


def load_templates(path: str | Path, known: Any = None, used_by: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """A user's templates file: a JSON object mapping task name to a list of instruction strings.

    ``known`` (a :class:`Registry`, or task names) makes a key that names no installed task an error, with
    the nearest names; ``used_by`` (the tasks of this run) makes a file that applies to none of them an error,
    so that nothing records a file as used that changed nothing.
    """
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise CorpusFormatError(path, 1, "expected a JSON object mapping task name to a list of instructions")
    out = {}
    for task, items in data.items():
        if not isinstance(items, list) or not items or not all(isinstance(s, str) and s.strip() for s in items):
            raise CorpusFormatError(path, None, f"templates for {task!r} must be a non-empty list of strings")
        out[task] = tuple(items)
    if known is not None:
        names = [*known.tasks, *known.conflicts] if isinstance(known, Registry) else list(known)
        unknown = [k for k in out if k not in names]
        if unknown:
            hints = [f"{k!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, names, n=1)) else repr(k) for k in unknown]
            raise CorpusFormatError(path, None, f"{len(unknown)} key(s) name no installed task: {', '.join(hints)}")
    if used_by is not None:
        tasks = list(used_by)
        if not set(out) & set(tasks):
            raise CorpusFormatError(path, None, f"has templates for {', '.join(sorted(out)) or 'no task'}, none of the tasks of this run ({', '.join(tasks)})")
    return out


def choose_template(seed: int, task: str, split: str, example_id: str, n: int) -> int:
    """A seeded choice that depends on the example, not on its position.

    Keying on the example id means a sampled subset gets the same instruction as the full render,
    and adding rows elsewhere in a mix does not reshuffle every template.
    """
    return _keyed_hash(seed, task, split, example_id) % n


def _keyed_hash(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def sample_rows(rows: Sequence[Mapping[str, Any]], limit: int | None, seed: int, task: str, split: str) -> list[Mapping[str, Any]]:
    """A fixed pseudo-random sample of ``limit`` rows, kept in corpus order.

    Test files are often sorted (GAD's folds list every positive first), so the first N rows are no
    sample. Rows are ranked by a hash of (seed, task, split, id): the same seed always picks the same
    rows, and a larger limit picks a superset of a smaller one, so a grown ``--limit`` resumes.
    """
    if limit is not None and limit < 1:
        raise MedTunedError(f"limit must be at least 1, got {limit}")
    if limit is None or len(rows) <= limit:
        return list(rows)
    ranked = sorted(range(len(rows)), key=lambda i: _keyed_hash("sample", seed, task, split, rows[i]["id"]))
    return [rows[i] for i in sorted(ranked[:limit])]


def task_templates(task: TaskInfo, custom: Mapping[str, Sequence[str]] | None) -> tuple[str, tuple[str, ...]]:
    """``(set name, templates)``: the user's set for this task if given, else the built-in one."""
    if custom and task.name in custom:
        return "custom", tuple(custom[task.name])
    return "builtin", task.templates


def render_examples(
    registry: Registry,
    task: TaskInfo,
    examples: Iterable[dict[str, Any]],
    split: str,
    seed: int = 0,
    templates: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Alpaca rows (``instruction``, ``input``, ``output``, ``task``, ``template_id``, ``id`` + hints)."""
    set_name, items = task_templates(task, templates)
    for example in examples:
        example_id = str(example["id"])
        tid = choose_template(seed, task.name, split, example_id, len(items))
        body = registry.render(task, example, items[tid])
        row = {
            "instruction": items[tid],
            "input": body["input"],
            "output": body["output"],
            "task": task.name,
            "template_id": f"{set_name}:{tid}",
            "id": example_id,
        }
        for key, value in body.items():
            row.setdefault(key, value)
        yield row


def render_split(
    registry: Registry,
    task: TaskInfo,
    data_dir: str | Path,
    split: str,
    seed: int = 0,
    templates: Mapping[str, Sequence[str]] | None = None,
    options: dict[str, Any] | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """One task split, in corpus order, through the load and render hooks (the first ``limit`` rows, ``limit`` >= 1)."""
    if limit is not None and limit < 1:
        raise MedTunedError(f"limit must be at least 1, got {limit}")
    examples = registry.load(task, data_dir, split, options)
    for i, row in enumerate(render_examples(registry, task, examples, split, seed, templates)):
        if limit is not None and i >= limit:
            return
        yield row


def alpaca(row: Mapping[str, Any]) -> dict[str, Any]:
    """The training view of a row: the Alpaca fields, task, template id and example id, and the same row as chat
    ``messages`` (a user turn, the answer as the assistant turn: the conversational form TRL and axolotl read)."""
    out = {k: row[k] for k in (*ALPACA_KEYS, "task", "template_id", "id") if k in row}
    out["messages"] = chat_messages(row["instruction"], row["input"], row["output"])
    return out
