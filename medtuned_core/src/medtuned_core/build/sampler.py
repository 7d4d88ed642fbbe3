"""Seeded, streaming row selection: which examples of a task split go into the mix.

A count or fraction is drawn with selection sampling (Knuth's Algorithm S): knowing how many rows a
bucket holds (a cheap counting pass over the loader, no rendering), each row in corpus order is kept
with probability ``still needed / still unseen``. That gives exactly the requested number, every
subset equally likely, in one pass and O(1) memory — no reservoir, no index list.

A bucket is either the whole task split or, when a spec selects per source, one source of it.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import MedTunedError
from .spec import MixEntry, Take

WHOLE = "*"  # the bucket name when a task split is sampled as a whole


def seeded_rng(*parts: object) -> random.Random:
    """An RNG keyed on text parts, so that each bucket's draw is independent of the others."""
    key = "\x1f".join(str(p) for p in parts).encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


@dataclass
class Bucket:
    """The rows of one task split (or one source of it) and how many of them to keep."""

    name: str
    take: Take
    available: int | None = None  # known after the counting pass; None for "all" without one
    quota: int | None = None
    seen: int = 0
    selected: int = 0
    _rng: random.Random | None = field(default=None, repr=False)

    def plan(self, available: int | None, rng: random.Random) -> None:
        self.available = available
        self.quota = None if available is None else self.take.quota(available)
        self._rng = rng

    def keep(self) -> bool:
        """Whether the next row (in corpus order) is selected."""
        self.seen += 1
        if self.quota is None:  # take everything, counted or not
            self.selected += 1
            return True
        unseen = self.available - self.seen + 1
        if unseen <= 0:
            return False  # more rows than the counting pass saw: caught by check_complete
        if self._rng.random() * unseen < self.quota - self.selected:
            self.selected += 1
            return True
        return False

    @property
    def requested(self) -> int | str:
        return "all" if self.take.kind == "all" else self.take.requested(self.available or 0)

    @property
    def short(self) -> bool:
        """The spec asked for a count larger than the data holds."""
        return self.take.kind == "count" and self.available is not None and self.available < int(self.take.value)


class EntrySampler:
    """Selects the rows of one mix entry, per source where the spec says so."""

    def __init__(self, entry: MixEntry, seed: int, has_sources: bool):
        self.entry = entry
        self.seed = entry.seed if entry.seed is not None else seed
        self.has_sources = has_sources
        self.per_source = bool(entry.sources)
        if self.per_source:
            self.buckets = {name: Bucket(name, take) for name, take in entry.sources}
        else:
            self.buckets = {WHOLE: Bucket(WHOLE, entry.take)}
        self.source_seen: Counter[str] = Counter()  # rows per source in the data (tasks with sources)
        self.source_selected: Counter[str] = Counter()
        self.counted = False
        self.rows_seen = 0  # rows the loader gave in the selection pass

    @property
    def needs_count(self) -> bool:
        return self.entry.needs_count

    def source_of(self, example: dict[str, Any]) -> str | None:
        if not self.has_sources:
            return None
        source = example.get("source")
        if source is None and self.per_source:
            raise MedTunedError(f"task {self.entry.task!r}: example {example.get('id')!r} has no `source` field, so it cannot be selected per source")
        return None if source is None else str(source)

    def count(self, examples: Iterable[dict[str, Any]], tick=None) -> None:
        """The counting pass: how many rows each bucket holds."""
        totals: Counter[str] = Counter()
        n = 0
        for example in examples:
            n += 1
            source = self.source_of(example)
            if source is not None:
                totals[source] += 1
            if tick is not None:
                tick()
        self.plan(n, totals)

    def plan(self, total: int | None, per_source: Counter[str] | None = None) -> None:
        """Fix each bucket's quota from the counts (None: not counted, everything is taken)."""
        self.counted = total is not None
        for name, bucket in self.buckets.items():
            if total is None:
                available = None
            elif name == WHOLE:
                available = total
            else:
                available = (per_source or Counter()).get(name, 0)
            bucket.plan(available, seeded_rng("select", self.seed, self.entry.task, self.entry.split, self.entry.options_key(), name))

    def select(self, examples: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The selected examples, in corpus order."""
        for example in examples:
            self.rows_seen += 1
            source = self.source_of(example)
            if source is not None:
                self.source_seen[source] += 1
            bucket = self.buckets.get(source) if self.per_source else self.buckets[WHOLE]
            if bucket is not None and bucket.keep():
                if source is not None:
                    self.source_selected[source] += 1
                yield example
        self.check_complete()

    def check_complete(self) -> None:
        for bucket in self.buckets.values():
            if bucket.available is not None and bucket.seen != bucket.available:
                raise MedTunedError(
                    f"{self.entry.label}: the loader gave {bucket.seen} rows for {bucket.name!r} but {bucket.available} when counted; "
                    "the data changed during the build, or the loader is not deterministic"
                )

    @property
    def quota_total(self) -> int | None:
        """Rows the plan will select, where known (None when some bucket takes all of an uncounted split)."""
        quotas = [b.quota for b in self.buckets.values()]
        return None if any(q is None for q in quotas) else sum(quotas)

    @property
    def selected(self) -> int:
        return sum(b.selected for b in self.buckets.values())

    @property
    def shortfalls(self) -> list[dict[str, Any]]:
        """Buckets where the spec asked for more rows than there are."""
        return [{"source": None if b.name == WHOLE else b.name, "requested": b.requested, "available": b.available} for b in self.buckets.values() if b.short]
