"""``medtuned predict``: one task applied to a user's own raw text, the way one tries a released model.

The core knows no task, so the input is shaped after the task's own rendered samples (its shipped
sample data, or ``--data-dir``): a task whose rows carry a ``tagging`` hint gets sentences split into
tokens (one row per sentence, entities read back from B/I/O tags); any other task gets the text as its
input — for inputs made of labelled parts (``Sentence 1: ...`` / ``Sentence 2: ...``) the parts are
given separated by a TAB or a line break. A label set shared by every sample row is ranked in score
mode; otherwise the model generates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..plugins import Registry
from ..render import choose_template, task_templates
from ..types import TaskInfo

# A sentence ends at . ! ? followed by space and an upper-case letter, digit or bracket, or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])|\n+")
# Words and single punctuation marks, as BioBERT-style corpora are tokenised (hyphens and slashes apart).
_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
_PART_PREFIX = re.compile(r"^([^\n:]{1,40}):\s")


@dataclass
class Unit:
    """One model input made from the user's text: the row to run and where its tokens sit in the text."""

    row: dict[str, Any]
    source: str  # the sentence or line it came from
    offsets: list[tuple[int, int]]  # character span of each token in ``source`` (tagging tasks)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if text[start : match.start()].strip():
            spans.append((start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    matches = list(_TOKEN.finditer(text))
    return [m.group() for m in matches], [m.span() for m in matches]


def sample_rows(registry: Registry, task: TaskInfo, data_dir: str | Path | None, n: int = 8) -> list[dict[str, Any]]:
    """A few rendered rows of the task (from ``data_dir`` if it holds the task's folder, else its samples)."""
    from ..render import render_split

    roots = [Path(data_dir)] if data_dir and (Path(data_dir) / task.data_folder).is_dir() else []
    if task.sample_data:
        roots.append(Path(task.sample_data))
    for root in roots:
        for split in sorted(task.splits, key=lambda s: ("test", "validation", "train").index(s) if s in ("test", "validation", "train") else 3):
            try:
                rows = list(render_split(registry, task, root, split, limit=n))
            except (FileNotFoundError, MedTunedError):
                continue
            if rows:
                return rows
    return []


def shared_choices(samples: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """The choices every sample row offers (a fixed label set), else None (per-example options)."""
    sets = [tuple(r["choices"]) for r in samples if isinstance(r.get("choices"), list)]
    if sets and len(sets) == len(samples) and len(set(sets)) == 1:
        return list(sets[0])
    return None


def compose_input(sample_input: str | None, parts: Sequence[str]) -> str:
    """The user's parts laid out like a sample input: ``Prefix: part`` lines when the sample has them."""
    if len(parts) == 1:
        return parts[0]
    prefixes = [m.group(1) for m in (_PART_PREFIX.match(line) for line in (sample_input or "").split("\n")) if m]
    if len(prefixes) >= len(parts):
        return "\n".join(f"{p}: {part}" for p, part in zip(prefixes, parts, strict=False))
    return "\n".join(parts)


def make_units(
    task: TaskInfo, texts: Sequence[str], samples: Sequence[Mapping[str, Any]], templates: Mapping[str, Sequence[str]] | None, seed: int
) -> list[Unit]:
    _, items = task_templates(task, templates)
    tagging = next((r["tagging"] for r in samples if isinstance(r.get("tagging"), Mapping)), None)
    choices = shared_choices(samples)
    units: list[Unit] = []
    for t_index, text in enumerate(texts):
        pieces = split_sentences(text) if tagging is not None else [(0, len(text))]
        for s_index, (lo, hi) in enumerate(pieces):
            source = text[lo:hi].strip() if tagging is not None else text
            uid = f"{t_index + 1}.{s_index + 1}"
            instruction = items[choose_template(seed, task.name, "predict", uid, len(items))]
            row: dict[str, Any] = {"task": task.name, "id": uid, "instruction": instruction, "output": "", "template_id": "predict"}
            offsets: list[tuple[int, int]] = []
            if tagging is not None:
                tokens, offsets = tokenize(source)
                if not tokens:
                    continue
                row["input"] = " ".join(tokens)
                labels = list(tagging.get("labels") or task.labels)
                row["tagging"] = {**tagging, "tokens": tokens, "labels": labels}
            else:
                parts = [p.strip() for p in re.split(r"\t|\n", text) if p.strip()]
                if not parts:
                    continue
                row["input"] = compose_input(samples[0]["input"] if samples else None, parts)
                if choices:
                    row["choices"] = choices
            units.append(Unit(row, source, offsets))
    return units


def bio_entities(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(first token, last token + 1, type)`` spans from B/I/O tags (typed ``B-X`` or untyped ``B``)."""
    spans, start, kind = [], None, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, rest = str(tag).partition("-")
        prefix = prefix.upper()
        if start is not None and (prefix != "I" or rest != kind):
            spans.append((start, i, kind))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, rest
    return spans


def predict(
    model: Any,
    task: str,
    texts: Sequence[str],
    *,
    mode: str = "score",
    registry: Registry | None = None,
    data_dir: str | Path | None = None,
    templates: Mapping[str, Sequence[str]] | None = None,
    seed: int = 0,
    backend: str = "hf",
    batch_size: int = 8,
    dtype: Any = None,
    max_new_tokens: int = 512,
    prompt_format: str = "auto",
    system_prompt: str | None = None,
) -> list[dict[str, Any]]:
    """Parsed predictions for each sentence (tagging tasks) or text: ``input``, ``output``, ``parsed``, ``ok``,
    ``method`` and, for tagging tasks, ``entities`` with character offsets into ``source``. The prompt format is
    chosen as ``evaluate`` chooses it (``prompt.choose_format``)."""
    from ..plugins import get_registry
    from ..prompt import bind_format, format_for_model
    from .backend import make_backend
    from .runner import batches, make_requests, run_batch

    registry = registry or get_registry()
    info = registry.get(task)
    samples = sample_rows(registry, info, data_dir)
    units = make_units(info, [t for t in texts if t.strip()], samples, templates, seed)
    if not units:
        raise MedTunedError("no text to predict on: give TEXT or --file with some text")
    fmt = format_for_model(model, prompt_format, system_prompt)
    engine = make_backend(backend, model, dtype=dtype, prompt_format=fmt)
    fmt = bind_format(fmt, engine)
    expected = max(engine.count_tokens([r["output"] for r in samples]), default=0) or max_new_tokens
    requests = make_requests(engine, [u.row for u in units], mode, max_new_tokens, expected_tokens=expected, floor=info.max_new_tokens, fmt=fmt)
    by_id = {u.row["id"]: u for u in units}
    results: dict[str, dict[str, Any]] = {}
    for batch in batches(requests, batch_size):
        for request, (text, decode) in zip(batch, run_batch(engine, batch, task), strict=True):
            unit = by_id[request.row["id"]]
            parsed = registry.parse(info, text, input=request.row["input"], reference=None)
            item: dict[str, Any] = {"id": request.row["id"], "source": unit.source, "input": request.row["input"], "output": text}
            item.update(parsed=parsed.value, ok=parsed.ok, diagnostics=parsed.diagnostics, method=request.method, decode=decode)
            tags = parsed.value if isinstance(parsed.value, list) else None
            if unit.offsets and tags is not None and len(tags) == len(unit.offsets):
                item["entities"] = [
                    {"text": unit.source[unit.offsets[a][0] : unit.offsets[b - 1][1]], "type": kind, "start": unit.offsets[a][0], "end": unit.offsets[b - 1][1]}
                    for a, b, kind in bio_entities([str(t) for t in tags])
                ]
            results[request.row["id"]] = item
    return [results[u.row["id"]] for u in units]
