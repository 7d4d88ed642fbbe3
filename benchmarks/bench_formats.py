"""Alpaca against the model's own chat template: SmolLM2-135M-Instruct zero-shot, the same seeded samples in both formats.

    python benchmarks/bench_formats.py --data-dir ../shared/corpora [--limit 40] [--modes score,generate]
                                       [--generate-limit ncbi-disease=16] [--threads 1] [--out DIR]

For each mode, evaluates NCBI-disease, GAD, MedQA and PubMedQA (test split, a fixed sample of ``--limit`` examples
per task chosen by ``--seed``, as ``medtuned evaluate --limit``; a smaller sample contains in a larger one) once
with ``--format alpaca`` and once with ``--format chat``, and prints each task's primary score in both formats
side by side with the share of answers the task's parser could not read; then, for the choice tasks, the score
under every choice scoring (score mode) and how often each answer was given. ``--generate-limit TASK=N`` takes a
smaller sample of a task in generate mode (free generation of NER's long answers is the slow part on a CPU). The
machine load (1-minute average) is printed beside each run: times are noisy on a shared machine, scores are not.
Each run is a normal ``medtuned evaluate`` output folder under ``--out`` (rerunning resumes).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
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
    ap.add_argument("--limit", type=int, default=40, help="examples per task (a fixed seeded sample)")
    ap.add_argument("--generate-limit", action="append", default=[], metavar="TASK=N", help="a smaller sample of TASK in generate mode")
    ap.add_argument("--modes", default="score,generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from medtuned_core.evaluate import evaluate

    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="medtuned-formats-"))
    tasks = [t for t in args.tasks.split(",") if t]
    modes = [m for m in args.modes.split(",") if m]
    smaller = {task: int(n) for task, _, n in (pair.partition("=") for pair in args.generate_limit)}
    print(f"model {args.model}; tasks {', '.join(tasks)}; {args.limit} examples per task (seed {args.seed}); generate mode: {smaller or 'same'}")
    results: dict[tuple[str, str], dict] = {}
    for mode in modes:
        limits = {t: smaller.get(t, args.limit) if mode == "generate" else args.limit for t in tasks}
        for fmt in FORMATS:
            started, results[mode, fmt] = time.perf_counter(), {}
            for limit in sorted(set(limits.values())):  # one evaluate per sample size, into the same folder
                group = [t for t in tasks if limits[t] == limit]
                metrics = evaluate(
                    args.model,
                    group,
                    args.data_dir,
                    "test",
                    out / f"{mode}-{fmt}",
                    mode,
                    limit,
                    seed=args.seed,
                    batch_size=args.batch_size,
                    prompt_format=fmt,
                    progress=False,
                )
                results[mode, fmt].update(metrics["tasks"])
            print(f"  {mode:>8} {fmt:>6}: {time.perf_counter() - started:6.0f} s, load {load()}", flush=True)
    for mode in modes:
        print(f"\nmode {mode}: primary score and unparsed answers (n per task)")
        print("| task | metric | n | alpaca | chat | unparsed alpaca | unparsed chat |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for task in tasks:
            a, c = results[mode, "alpaca"][task], results[mode, "chat"][task]
            unparsed = [f"{r['unparsed'] / r['n']:.0%} ({r['unparsed']})" for r in (a, c)]
            print(f"| {task} | {a['metric']} | {a['n']} | {a['score']:.3f} | {c['score']:.3f} | {unparsed[0]} | {unparsed[1]} |")
    print("\nchoice tasks: score under each choice scoring, and the answers given (gold in brackets)")
    for mode in modes:
        for task in tasks:
            for fmt in FORMATS:
                report = results[mode, fmt][task].get("choices")
                if not report:
                    continue
                variants = ", ".join(f"{name} {v['score']:.3f}" for name, v in report.get("variants", {}).items())
                dist = report["distribution"]
                given = ", ".join(f"{k} {n}" for k, n in dist["predicted"].items())
                print(
                    f"  {mode:>8} {task:>9} {fmt:>6}: {variants + '; ' if variants else ''}answers {given} [gold {', '.join(f'{k} {n}' for k, n in dist['gold'].items())}]"
                )
    print(f"\nload at the end {load()}; outputs in {out}")


if __name__ == "__main__":
    main()
