"""What a confidence interval adds to scoring, on the largest test split of the registry.

    python benchmarks/bench_intervals.py [--n-boot 1000] [--fallback-boot 1000] [--task NAME]

Needs ../shared/corpora (or $MEDTUNED_SHARED_CORPORA). Picks the installed task with the most test
examples under the data root (BC2GM, 5,038 sentences, with the five task packages), builds noisy
predictions from its gold answers (a seeded ~5 % of tags changed, no model needed), and times in one run:

* parse + score: what `medtuned evaluate` / `medtuned score` do without an interval;
* the interval by the fast path: the task's ``medtuned_score_units`` (per-sentence (tp, fp, fn) sums, one
  matrix product for all resamples). Until the task packages answer that hook, this script registers a
  small units implementation of seqeval's default-mode entity F1 (``EntityUnits`` below); the core checks
  that its sums give the score hook's exact figure;
* the interval by the fallback: every resample rescored through ``medtuned_score`` (``--fallback-boot``
  resamples; the time per resample is printed, so a smaller count extrapolates linearly).

Both paths draw the same resamples: with ``--fallback-boot`` equal to ``--n-boot`` their intervals agree
(printed). Single process.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

from medtuned_core import UnitScores, hookimpl, stats
from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.scoring import parse_row, rescored_units, score_task, task_units
from medtuned_core.testing import shared_corpora


class EntityUnits:
    """seqeval's default-mode (conlleval-compatible) micro entity F1 as per-sentence (tp, fp, fn)."""

    def __init__(self, tasks: set[str]) -> None:
        self.tasks = tasks

    @hookimpl(tryfirst=True)
    def medtuned_score_units(self, task, golds, preds, rows):
        if task.name not in self.tasks:
            return None
        from seqeval.metrics.sequence_labeling import get_entities

        def tags(value: Any, n: int | None = None) -> list[str]:
            out = [t if isinstance(t, str) and t else "O" for t in value] if isinstance(value, list) else []
            out = out if n is None else (out + ["O"] * n)[:n]
            return [t if t == "O" or len(t) > 1 else f"{t}-ENT" for t in out]

        table = []
        for gold, pred in zip(golds, preds, strict=True):
            g = tags(gold.value)
            truth, guess = set(get_entities(g)), set(get_entities(tags(pred.value, len(g))))
            table.append([len(truth & guess), len(guess - truth), len(truth - guess)])
        return UnitScores("sentence", [str(r["id"]) for r in rows], table, f1)


def f1(summed):
    import numpy as np

    tp, fp, fn = summed[..., 0], summed[..., 1], summed[..., 2]
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros(np.shape(den)), where=den > 0)


def noisy(row: dict[str, Any], rng: random.Random) -> str:
    lines = [line.rsplit(" : ", 1) for line in row["output"].split("\n")]
    return "\n".join(f"{tok} : {rng.choice('BIO') if rng.random() < 0.05 else tag}" for tok, tag in lines)


def largest_task(registry, root) -> tuple[str, list[dict[str, Any]]]:
    best: tuple[str, list[dict[str, Any]]] = ("", [])
    for task in registry.select():
        if "test" not in task.splits or not (root / task.data_folder).is_dir():
            continue
        try:
            rows = list(render_split(registry, task, root, "test"))
        except Exception as exc:  # a task whose data is only partly there
            print(f"skip {task.name}: {exc}", file=sys.stderr)
            continue
        if len(rows) > len(best[1]):
            best = (task.name, rows)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=stats.DEFAULT_N_BOOT)
    ap.add_argument("--fallback-boot", type=int, default=stats.DEFAULT_N_BOOT, help="resamples timed for the fallback (0: skip it)")
    ap.add_argument("--task", help="a task instead of the largest")
    args = ap.parse_args()
    root = shared_corpora()
    if root is None:
        sys.exit("needs ../shared/corpora or $MEDTUNED_SHARED_CORPORA")
    plain = make_registry()
    if args.task:
        name, rendered = args.task, list(render_split(plain, plain.get(args.task), root, "test"))
    else:
        name, rendered = largest_task(plain, root)
    rng = random.Random(0)
    rows = [{"task": name, "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": noisy(r, rng)} for r in rendered]
    print(f"task {name}: {len(rows)} test examples; {args.n_boot} resamples at 95 %")

    clock = time.perf_counter()
    items = [parse_row(plain, r) for r in rows]
    task = plain.get(name)
    result = score_task(plain, task, items)
    base = time.perf_counter() - clock
    print(f"parse + score (no interval): {base:.2f} s, {result['metric']} {result['score']:.4f}")

    fast_registry = plain if plain.score_units(task, [], [], []) is not None else make_registry([EntityUnits({name})])
    which = "the task package's medtuned_score_units" if fast_registry is plain else "EntityUnits (this script's units implementation)"
    clock = time.perf_counter()
    units = task_units(fast_registry, fast_registry.get(name), items, result)
    hook_s = time.perf_counter() - clock
    fast = stats.interval(units, args.n_boot)
    fast_s = time.perf_counter() - clock
    print(
        f"+ interval, fast path via {which}: {fast_s:.2f} s ({fast_s / base:.2f}x parse + score; the units hook {hook_s:.2f} s, "
        f"the resamples {fast_s - hook_s:.2f} s), [{fast['ci_low']:.4f}, {fast['ci_high']:.4f}] per {fast['ci_unit']}"
    )

    if args.fallback_boot:
        units = rescored_units(plain, task, items)
        clock = time.perf_counter()
        slow = stats.interval(units, args.fallback_boot)
        slow_s = time.perf_counter() - clock
        per = slow_s / args.fallback_boot
        print(
            f"+ interval, fallback (medtuned_score per resample): {slow_s:.1f} s for {args.fallback_boot} resamples = {per:.3f} s each, "
            f"{per * args.n_boot:.0f} s for {args.n_boot} ({per * args.n_boot / base:.0f}x parse + score), [{slow['ci_low']:.4f}, {slow['ci_high']:.4f}]"
        )


if __name__ == "__main__":
    main()
