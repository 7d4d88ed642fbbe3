"""The position-bias control (``--permute-choices cyclic``): every multiple-choice question is asked once per
cyclic rotation of its options, and the answers are aggregated so a preference for a position cancels out.

A rendered row is a multiple-choice question when its ``choices`` hint lists option lines lettered A, B, C…
in order (``"A. text"``, or ``"A) text"``), its gold output is one of them, and its input shows exactly those
lines, one per line, once. That is the task's whole part: MedQA (medtuned-tasks-qa) and the labels kit's
``choice`` tasks render rows that way. Rotation ``k`` keeps the letters where they are and moves the texts:
the option at position ``i`` is the original option ``(i + k) mod n``, so over the ``n`` rotations every
option sits once at every letter and the gold answer once at every letter. Rotation 0 is the row itself.
Rows of other tasks (a label set such as yes/no/maybe, which the prompt does not list) are asked once.

Rotated rows are evaluated like any other (resumable, data-parallel) under the id ``<id>~rot<k>``, with
``rotation``, ``rotation_of`` and ``choice_order`` (the original index of the option at each position) in
predictions.jsonl; they never enter a task's score. choice_report.py aggregates them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from string import ascii_uppercase
from typing import Any

from ..errors import MedTunedError

NONE, CYCLIC = "none", "cyclic"
PERMUTATIONS = (NONE, CYCLIC)
ROTATION_KEYS = ("rotation", "rotation_of", "choice_order")
_OPTION = re.compile(r"^([A-Z])([.)]) (\S.*)$")


def check_permutation(name: str | None) -> str | None:
    """``None`` for no control (the stored run identity of runs without one), else the checked name."""
    if name in (None, NONE):
        return None
    if name not in PERMUTATIONS:
        raise MedTunedError(f"unknown --permute-choices {name!r}: choose one of {', '.join(PERMUTATIONS)}")
    return name


def option_lines(row: Mapping[str, Any]) -> tuple[list[str], list[str], str] | None:
    """``(letters, texts, mark)`` of a multiple-choice row whose options can be rotated, else None."""
    choices = row.get("choices")
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and "\n" not in c for c in choices):
        return None
    found = [_OPTION.match(c) for c in choices]
    if not all(found):
        return None
    letters = [m.group(1) for m in found]
    marks = {m.group(2) for m in found}
    text = row.get("input")
    if "".join(letters) != ascii_uppercase[: len(letters)] or len(marks) != 1 or row.get("output") not in choices:
        return None
    if not isinstance(text, str) or text.count("\n".join(choices)) != 1:
        return None
    return letters, [m.group(3) for m in found], marks.pop()


def rotate(row: Mapping[str, Any], k: int) -> dict[str, Any]:
    """The row with its options rotated by ``k`` (rotation 0: the row itself, marked as rotation 0)."""
    parts = option_lines(row)
    if parts is None:
        raise ValueError(f"row {row.get('id')!r} is not a multiple-choice question with lettered options")
    letters, texts, mark = parts
    n = len(texts)
    order = [(i + k) % n for i in range(n)]
    lines = [f"{letters[i]}{mark} {texts[order[i]]}" for i in range(n)]
    gold = list(row["choices"]).index(row["output"])
    out = dict(row)
    out.update(
        input=row["input"].replace("\n".join(row["choices"]), "\n".join(lines), 1),
        output=lines[order.index(gold)],
        choices=lines,
        rotation=k % n,
        rotation_of=str(row["id"]),
        choice_order=order,
    )
    if k % n:
        out["id"] = f"{row['id']}~rot{k % n}"
    return out


def expand(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each multiple-choice row followed by its other rotations; other rows as they are."""
    out: list[dict[str, Any]] = []
    for row in rows:
        parts = option_lines(row)
        if parts is None:
            out.append(dict(row))
            continue
        out += [rotate(row, k) for k in range(len(parts[0]))]
    return out


def is_plain(row: Mapping[str, Any]) -> bool:
    """A task's own example (not a rotation the control added)."""
    return not row.get("rotation")


def rotation_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a prediction row keeps of a rotation (nothing for a row asked once)."""
    return {k: row[k] for k in ROTATION_KEYS if k in row}


def letters_of(choices: Sequence[str]) -> list[str]:
    """The position names of a question's options (their letters)."""
    return [m.group(1) if (m := _OPTION.match(c)) else str(i) for i, c in enumerate(choices)]
