"""The leakage guard: no training row may repeat the input of an evaluation example.

Evaluation inputs are rendered through the same hooks as training rows, reduced to a 16-byte digest
of their whitespace-normalised text, and held in memory (evaluation sets are small next to training
mixes). Training rows whose input digest is known are dropped and counted per (train task, eval
split) pair. Blank inputs are ignored: tasks without an input field would otherwise all collide.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any


def normalise(text: str) -> str:
    """The text compared: whitespace runs collapsed, ends trimmed (a re-tokenised copy is still a copy)."""
    return " ".join(text.split())


def digest(text: str) -> bytes | None:
    norm = normalise(text)
    return hashlib.blake2b(norm.encode(), digest_size=16).digest() if norm else None


class EvalIndex:
    """Digests of every evaluation input, each with the set of eval splits (a bit mask) that hold it."""

    def __init__(self) -> None:
        self.labels: list[str] = []  # "task/split", in spec order
        self.inputs: dict[str, int] = {}  # rows indexed per eval split
        self._masks: dict[bytes, int] = {}
        self.dropped: Counter[tuple[str, str]] = Counter()  # (train entry label, eval label) -> rows
        self.dropped_rows: Counter[str] = Counter()  # train entry label -> rows dropped

    def add_split(self, label: str, rows: Any) -> int:
        """Index the rendered rows of one evaluation split; returns how many inputs it holds."""
        bit = 1 << len(self.labels)
        self.labels.append(label)
        n = 0
        for row in rows:
            key = digest(row["input"])
            n += 1
            if key is not None:
                self._masks[key] = self._masks.get(key, 0) | bit
        self.inputs[label] = n
        return n

    def __len__(self) -> int:
        return len(self._masks)

    def leaks(self, train_label: str, text: str) -> bool:
        """Whether a training input repeats an evaluation input; counts it if so."""
        if not self._masks:
            return False
        key = digest(text)
        mask = self._masks.get(key) if key is not None else None
        if not mask:
            return False
        self.dropped_rows[train_label] += 1
        for i, label in enumerate(self.labels):
            if mask >> i & 1:
                self.dropped[(train_label, label)] += 1
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": [{"split": label, "inputs": self.inputs[label]} for label in self.labels],
            "dropped": [{"train": train, "eval": ev, "rows": n} for (train, ev), n in sorted(self.dropped.items())],
            "dropped_rows": sum(self.dropped_rows.values()),
        }
