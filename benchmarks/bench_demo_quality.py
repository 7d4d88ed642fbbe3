"""The demo's quality target: NCBI-disease test entity F1 (strict) on a fixed 200-sentence sample after a
<= 10-minute CPU fine-tune of SmolLM2-135M-Instruct on the real corpora — run several times, because the
run-to-run spread (how many steps the budget allows, the data order) is as large as the gains measured.

    python benchmarks/bench_demo_quality.py --data-dir ../shared/corpora [--runs 2] [--minutes 10] [--limit 200] [--out DIR]

Runs `medtuned demo` (full profile) ``--runs`` times with those overrides, each fine-tune with its own seed
(``--seeds``), the zero-shot evaluation once (later runs resume it). Prints, per run, the before/after figures
with a 95 % bootstrap interval, the training steps and rows seen per task; then each figure's mean over the
runs. The intervals come from each evaluation's metrics.json (``ci_low``/``ci_high``) when the evaluator
writes them (the primary metric); otherwise (strict F1, accuracy) from a local percentile bootstrap over the examples of predictions.jsonl
(marked ``local bootstrap``). Also prints the GAD diagnostics: the mix's GAD share, GAD rows seen, and the
score-mode choice log-probabilities (how far apart the two answers are, and which one the model prefers).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console

from medtuned_core.demo.compare import EXTRA_FIGURES, _lookup
from medtuned_core.demo.runner import run_demo

NER_TASK, CHOICE_TASK = "ncbi-disease", "gad"


def figure_paths(result: dict[str, Any]) -> dict[str, str]:
    """Figure name -> where it sits in a task's metrics (the primary score, then strict F1 / accuracy)."""
    paths = {result["metric"]: "score"}
    for name, path in EXTRA_FIGURES.items():
        if name != result["metric"] and isinstance(_lookup(result, path), int | float):
            paths[name] = path
    return paths


def local_bootstrap(eval_dir: Path, task: str, path: str, samples: int, seed: int = 0) -> tuple[float, float]:
    """For figures the evaluator gives no interval (strict F1, GAD accuracy): a 95 % percentile bootstrap, resampling the
    task's examples in predictions.jsonl and rescoring each resample through the task's own scorer."""
    from medtuned_core.plugins import get_registry
    from medtuned_core.scoring import parse_row, score_parsed

    registry = get_registry()
    rows = [json.loads(line) for line in (eval_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = [parse_row(registry, r) for r in rows if r["task"] == task]
    rng = random.Random(seed)
    values = []
    for _ in range(samples):
        resample = [parsed[rng.randrange(len(parsed))] for _ in parsed]
        value = _lookup(score_parsed(registry, resample)[task], path)
        values.append(float(value))
    values.sort()
    return values[int(0.025 * (samples - 1))], values[int(0.975 * (samples - 1))]


def interval(eval_dir: Path, result: dict[str, Any], task: str, path: str, samples: int) -> tuple[float, float, str]:
    """``(low, high, source)``: metrics.json's interval when the evaluator wrote one, else the local bootstrap."""
    holder = result if path == "score" else _lookup(result, path.rpartition(".")[0]) or {}
    if isinstance(holder, dict) and isinstance(holder.get("ci_low"), int | float) and isinstance(holder.get("ci_high"), int | float):
        return float(holder["ci_low"]), float(holder["ci_high"]), "metrics.json"
    low, high = local_bootstrap(eval_dir, task, path, samples)
    return low, high, "local bootstrap"


def rows_seen(work: Path, steps: int) -> Counter:
    """Rows per task in the first ``steps`` batches of the run, replaying the trainer's seeded batch plan."""
    from medtuned_core.models import load_tokenizer
    from medtuned_core.train.data import TokenBudgetBatchSampler, encode_rows, read_rows

    run = json.loads((work / "run" / "run_config.json").read_text(encoding="utf-8"))
    config, model = run["config"], run["runtime"]["resolved model"]
    rows = read_rows(work / "data" / "train.jsonl")
    examples = encode_rows(load_tokenizer(model, for_training=True), rows)
    length = json.loads((work / "run" / "length_report.json").read_text(encoding="utf-8"))["train"]["max_seq_length"]
    kept = [e for e in examples if len(e) <= length]
    sampler = TokenBudgetBatchSampler(
        [len(e) for e in kept],
        max_rows=config["per_device_batch_size"],
        max_tokens=run["runtime"]["max_tokens_per_batch (effective)"],
        padded=not config["packing"],
        seed=config["seed"],
    )
    seen: Counter = Counter()
    epoch, done = 0, 0
    while done < steps:
        sampler.set_epoch(epoch)
        for batch in sampler:
            if done >= steps:
                break
            seen.update(kept[i].task for i in batch)
            done += 1
        epoch += 1
    return seen


def gad_diagnostics(work: Path) -> list[str]:
    """The choice log-probabilities of GAD rows before and after: the share answered each way, the margin."""
    lines = []
    for stage in ("eval-before", "eval-after"):
        path = work / stage / "predictions.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.is_file() else []
        rows = [r for r in rows if r["task"] == CHOICE_TASK and r.get("method") == "rank"]
        if not rows:
            continue
        predicted = Counter(r["prediction"] for r in rows)
        gold = Counter(r["reference"] for r in rows)
        margins = []
        for r in rows:
            scores = sorted(r["decode"]["choice_logprobs"].values(), reverse=True)
            margins.append(scores[0] - scores[1] if len(scores) > 1 else 0.0)
        correct_margin = [m for r, m in zip(rows, margins, strict=True) if r["prediction"] == r["reference"]]
        lines.append(
            f"  {stage}: predicted {dict(predicted)} vs gold {dict(gold)}; log-prob margin between the two answers median {statistics.median(margins):.3f} "
            f"(right answers {statistics.median(correct_margin) if correct_margin else float('nan'):.3f}), under 0.1 in {sum(m < 0.1 for m in margins)}/{len(margins)} rows"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--runs", type=int, default=2, help="fine-tunes to run (each from the base model)")
    ap.add_argument("--seeds", default="42,43,44,45,46", help="training seed of each run, in order")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", default="score", choices=["score", "generate"])
    ap.add_argument("--bootstrap", type=int, default=1000, help="resamples of the local bootstrap (when metrics.json has no interval)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="the demo's quick profile (a smoke run of this script, not a quality figure)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.runs > len(seeds):
        ap.error(f"--runs {args.runs} needs as many --seeds")
    out = args.out or Path(tempfile.mkdtemp(prefix="medtuned-quality-"))
    console = Console()
    runs: list[dict[str, Any]] = []
    for k in range(args.runs):
        run_out = out / f"run-{k + 1}"
        profile = "quick" if args.quick else "full"
        first_before = out / "run-1" / profile / "eval-before"
        if k and first_before.is_dir() and not (run_out / profile / "eval-before").exists():
            # The zero-shot evaluation is the same for every run: later runs resume the first one's.
            shutil.copytree(first_before, run_out / profile / "eval-before")
        clock = time.perf_counter()
        result = run_demo(
            data_dir=args.data_dir,
            out=run_out,
            quick=args.quick,
            model=None,
            mode=args.mode,
            max_steps=None,
            minutes=args.minutes,
            eval_limit=args.limit,
            threads=args.threads,
            console=console,
            train_overrides={"seed": seeds[k]},
        )
        work = Path(result["out"])
        metrics = json.loads((work / "run" / "metrics.json").read_text(encoding="utf-8"))
        summary = metrics["summary"]
        rates = [e["train_tokens_per_second"] for e in metrics.get("log_history", []) if isinstance(e.get("train_tokens_per_second"), int | float)]
        summary.setdefault("train_tokens_per_second", rates[-1] if rates else float("nan"))  # the Trainer's last logged rate
        runs.append({"work": work, "result": result, "summary": summary, "seed": seeds[k], "wall": time.perf_counter() - clock})

    print(f"\n== quality benchmark: {args.runs} run(s), {args.minutes:g}-minute fine-tune, {args.limit} seeded test rows per task, {args.mode} mode ==")
    collected: dict[tuple[str, str, str], list[float]] = {}
    for n, run in enumerate(runs, 1):
        work, summary = run["work"], run["summary"]
        steps = int(summary.get("global_step") or 0)
        seen = rows_seen(work, steps)
        print(
            f"run {n} (seed {run['seed']}): {steps} steps, train loss {summary.get('train_loss'):.4f}, "
            f"{summary.get('train_tokens_per_second', float('nan')):.0f} tokens/s, rows seen {sum(seen.values())} "
            f"({', '.join(f'{t} {c}' for t, c in seen.most_common())}), wall {run['wall']:.0f} s"
        )
        for stage, key in (("eval-before", "before"), ("eval-after", "after")):
            metrics = run["result"][key]
            for task, result in metrics["tasks"].items():
                for name, path in figure_paths(result).items():
                    value = float(_lookup(result, path))
                    low, high, source = interval(work / stage, result, task, path, args.bootstrap)
                    collected.setdefault((task, name, key), []).append(value)
                    print(f"  {key:6s} {task:14s} {name:10s} {value:.4f}  95% [{low:.4f}, {high:.4f}] ({source})")
        mix = json.loads((work / "data" / "manifest.json").read_text(encoding="utf-8"))
        counts = _mix_counts(mix)
        total = sum(counts.values()) or 1
        print(
            f"  GAD: {counts.get(CHOICE_TASK, 0)} of {total} mix rows ({counts.get(CHOICE_TASK, 0) / total:.1%}), {seen.get(CHOICE_TASK, 0)} seen in training"
        )
        for line in gad_diagnostics(work):
            print(line)
    print("\nmean over runs:")
    for (task, name, key), values in collected.items():
        spread = f" (runs: {', '.join(f'{v:.4f}' for v in values)})" if len(values) > 1 else ""
        print(f"  {key:6s} {task:14s} {name:10s} {statistics.mean(values):.4f}{spread}")
    print(f"outputs in {out}")


def _mix_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """Train rows per task from a build manifest (``counts.train``)."""
    counts = manifest.get("counts", {}).get("train", {})
    return {task: n for task, n in counts.items() if isinstance(n, int)}


if __name__ == "__main__":
    main()
