"""Data-parallel evaluation: ``torchrun --nproc_per_node N`` / ``accelerate launch`` start N copies of
``medtuned evaluate``; each takes its share of the rows and rank 0 merges the answers into one file.

- Every process reads the same ``predictions.jsonl``, so all agree on what is still to compute; the
  pending rows are cut into the batches a single process would run (same length order, same batch
  size) and process ``r`` runs batches ``r, r + N, ...`` — every batch is the one a single process would
  have formed, so the answers are the single process's answers.
- Process ``r`` appends to its own ``predictions.part-r.jsonl`` (fsynced, torn lines repaired on open); at
  the end rank 0 appends the parts' rows to ``predictions.jsonl`` in corpus order and removes the parts.
  A killed run leaves parts behind: the next run (any number of processes) merges them first, so
  nothing computed is lost or computed twice.
- Ranks meet through a gloo process group (CPU or GPU; only small messages travel): a barrier per task
  (so the examples/s figure covers every process) and one to hand rank 0's errors to all.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from ..errors import MedTunedError
from . import results

T = TypeVar("T")
PART = "predictions.part-{rank}.jsonl"
TIMEOUT = timedelta(hours=12)  # ranks wait for the slowest at each barrier; a long task must not time out


@dataclass
class Shard:
    """This process's place: ``rank`` of ``size`` processes; ``share``/``shares`` pick its rows (a backend with
    its own parallel groups, vLLM under torchrun, may set them), ``writes`` whether it stores answers."""

    rank: int = 0
    size: int = 1
    share: int = 0
    shares: int = 1
    writes: bool = True
    owns_group: bool = field(default=False, repr=False)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def on_main(self, fn: Callable[[], T]) -> T | None:
        """Run ``fn`` on rank 0 only; an error there is raised on every rank (no rank is left waiting)."""
        if self.size == 1:
            return fn()
        import torch.distributed as dist

        value, message = None, [None]
        if self.main:
            try:
                value = fn()
            except MedTunedError as exc:
                message = [str(exc)]
        dist.broadcast_object_list(message, src=0)
        if message[0] is not None:
            raise MedTunedError(message[0])
        return value

    def pick(self, items: list[T]) -> list[T]:
        """This process's share of ``items`` (whole batches, or single requests), round robin."""
        return items[self.share :: self.shares]

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.owns_group = False


def launched_rank() -> int:
    """This process's rank as the launcher (torchrun, accelerate launch) set it; 0 when not launched."""
    return int(os.environ.get("RANK", "0"))


def current_shard() -> Shard:
    """From the launcher's environment (``RANK``, ``WORLD_SIZE``); a process group is created when needed."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = launched_rank()
    if size <= 1:
        return Shard()
    import torch.distributed as dist

    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo", timeout=TIMEOUT)
        owns = True
    return Shard(rank=rank, size=size, share=rank, shares=size, owns_group=owns)


def adopt_backend_groups(shard: Shard, backend: Any) -> None:
    """A backend that runs its own model-parallel groups (``data_parallel = (share, shares, writes)``) says which
    rows this process takes and whether it is the one of its group that stores them."""
    layout = getattr(backend, "data_parallel", None)
    if layout is not None and shard.size > 1:
        shard.share, shard.shares, shard.writes = layout


def part_path(out: Path, rank: int) -> Path:
    return out / PART.format(rank=rank)


def merge_parts(out: Path, store: results.PredictionStore, order: Iterable[tuple[str, str]]) -> int:
    """Append the rows of every part file that ``store`` lacks, in ``order`` (corpus order; rows of keys
    not in it follow), then delete the parts. Returns the number of rows added."""
    parts = sorted(out.glob(PART.format(rank="*")))
    if not parts:
        return 0
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in parts:
        found.update(results.PredictionStore(path).open().rows)
    fresh = {k: v for k, v in found.items() if k not in store}
    ranked = {key: i for i, key in enumerate(order)}
    rows = [fresh[k] for k in sorted(fresh, key=lambda k: (ranked.get(k, len(ranked)), k))]
    store.append(rows)
    for path in parts:
        path.unlink()
    return len(rows)
