"""Alpaca against the model's own chat template: SmolLM2-135M-Instruct zero-shot, the same seeded samples in both formats.

    python benchmarks/bench_formats.py --data-dir ../shared/corpora [--limit 60] [--modes score,generate] [--out DIR]

For each mode, evaluates NCBI-disease, GAD, MedQA and PubMedQA (test split, a fixed sample of ``--limit`` examples
per task chosen by ``--seed``, as ``medtuned evaluate --limit``) once with ``--format alpaca`` and once with
``--format chat``, and prints each task's primary score in both formats side by side with the share of answers
the task's parser could not read, then how often each answer was given on the choice tasks (a format can move
a small model's answers from one option to all of them). The machine load (1-minute average) is printed at the start and end: times are
noisy on a shared machine, scores are not. Each run is a normal ``medtuned evaluate`` output folder under ``--out``
(rerunning resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

TASKS = ("ncbi-disease", "gad", "medqa", "pubmedqa")
FORMATS = ("alpaca", "chat")


def load() -> str:
    return f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--limit", type=int, default=60, help="examples per task (a fixed seeded sample)")
    ap.add_argument("--modes", default="score,generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from medtuned_core.evaluate import evaluate

    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="medtuned-formats-"))
    tasks = [t for t in args.tasks.split(",") if t]
    print(f"model {args.model}; tasks {', '.join(tasks)}; {args.limit} examples per task (seed {args.seed}); load {load()}")
    results: dict[tuple[str, str], dict] = {}
    for mode in args.modes.split(","):
        for fmt in FORMATS:
            started = time.perf_counter()
            metrics = evaluate(
                args.model,
                tasks,
                args.data_dir,
                "test",
                out / f"{mode}-{fmt}",
                mode,
                args.limit,
                seed=args.seed,
                batch_size=args.batch_size,
                prompt_format=fmt,
                progress=False,
            )
            results[mode, fmt] = metrics["tasks"]
            print(f"  {mode:>8} {fmt:>6}: {time.perf_counter() - started:6.0f} s (load {load()})", flush=True)
    for mode in args.modes.split(","):
        print(f"\nmode {mode}: score (primary metric) and unparsed answers, n per task")
        print("| task | metric | n | alpaca | chat | unparsed alpaca | unparsed chat |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for task in tasks:
            a, c = results[mode, "alpaca"].get(task), results[mode, "chat"].get(task)
            if a is None or c is None:
                continue
            print(
                f"| {task} | {a['metric']} | {a['n']} | {a['score']:.3f} | {c['score']:.3f} | "
                f"{a['unparsed'] / a['n']:.0%} ({a['unparsed']}) | {c['unparsed'] / c['n']:.0%} ({c['unparsed']}) |"
            )
    print("\nanswers given (parsed), per task, mode and format:")
    for mode in args.modes.split(","):
        for fmt in FORMATS:
            counts = answer_counts(out / f"{mode}-{fmt}" / "predictions.jsonl")
            shown = "; ".join(f"{task}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) for task, c in counts.items())
            print(f"  {mode:>8} {fmt:>6}: {shown}")
    print(f"\nload at the end {load()}; outputs in {out}")


def answer_counts(path: Path) -> dict[str, Counter]:
    """Parsed answers of the choice tasks (a tagging task's answers are label lists: not counted)."""
    counts: dict[str, Counter] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not isinstance(row.get("parsed"), list):
            counts.setdefault(row["task"], Counter())[str(row["parsed"]) if row.get("parse_ok") else "unparsed"] += 1
    return counts


if __name__ == "__main__":
    main()
