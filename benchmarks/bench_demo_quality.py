"""The demo's quality target: NCBI-disease test entity F1 (strict) on a fixed 200-sentence sample after a
<= 10-minute CPU fine-tune of SmolLM2-135M-Instruct on the real corpora.

    python benchmarks/bench_demo_quality.py --data-dir ../shared/corpora [--minutes 10] [--limit 200] [--out DIR]

Runs `medtuned demo` (full profile) with those overrides and prints the before/after figures, the
training steps and rows seen, and the wall time of each stage. Target: strict F1 >= 0.50 (the study
reports Claude-2 zero-shot 45.75 and GPT-3.5 33.39).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console

from medtuned_core.demo.runner import run_demo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", default="score", choices=["score", "generate"])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="medtuned-quality-"))
    clock = time.perf_counter()
    result = run_demo(
        data_dir=args.data_dir,
        out=out,
        quick=False,
        model=None,
        mode=args.mode,
        max_steps=None,
        minutes=args.minutes,
        eval_limit=args.limit,
        threads=args.threads,
        console=Console(),
    )
    work = Path(result["out"])
    summary = json.loads((work / "run" / "metrics.json").read_text())["summary"]
    print("\n== quality benchmark ==")
    print(f"fine-tune budget {args.minutes:g} min: {summary.get('global_step')} steps, train loss {summary.get('train_loss')}")
    report = result["report"]
    for task, entry in report["tasks"].items():
        then, now = (entry["runs"][label] for label in ("before", "after"))
        print(
            f"{task:>14} {entry['metric']:>10}: before {then['score']:.4f} [{then['ci_low']:.4f}, {then['ci_high']:.4f}]  after {now['score']:.4f} [{now['ci_low']:.4f}, {now['ci_high']:.4f}]"
        )
    for p in report["pairs"]:
        print(f"{p['task']:>14} change {p['diff']:+.4f} [{p['ci_low']:+.4f}, {p['ci_high']:+.4f}], paired bootstrap p = {p['p_bootstrap']:.3g}")
    for row in result["other_figures"]:
        print(f"{row['task']:>14} {row['metric']:>10}: before {row['before']:.4f}  after {row['after']:.4f}")
    for stage in ("eval-before", "eval-after"):
        tasks = json.loads((work / stage / "metrics.json").read_text())["tasks"]
        print(stage, {name: f"{t['examples_per_s']:.2f} ex/s" for name, t in tasks.items() if t.get("examples_per_s")})
    print(f"total wall time {time.perf_counter() - clock:.0f} s; outputs in {work}")


if __name__ == "__main__":
    main()
