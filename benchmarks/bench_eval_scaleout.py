"""Scale-out evaluation, measured in one run: (1) one process against two data-parallel processes (torchrun, gloo)
on the same rows; (2) the openai backend against a local ``transformers serve`` at concurrency 1 and 4.

Prints wall time (process start to exit: model loading included) and the evaluation's own examples/s from
metrics.json (model calls only), the ratios, whether the answers agree, and the machine load (``os.getloadavg``)
before and after each run: on a shared machine, read the ratios beside the load.

    python benchmarks/bench_eval_scaleout.py --data-dir ../shared/corpora          # SmolLM2-135M, 64 GAD test rows
    python benchmarks/bench_eval_scaleout.py --parts dp --dp-tasks gad,medqa --limit 32   # the shipped samples
    python benchmarks/bench_eval_scaleout.py --parts openai --concurrency 1,4,8
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medtuned_core.models import resolve_model
from medtuned_core.testing_models import sample_data_root
from medtuned_core.testing_server import LocalServer


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run(args: list[str], processes: int, threads: int) -> tuple[float, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    launcher = [sys.executable, "-m", "medtuned_core.cli"]
    if processes > 1:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", "-m", "medtuned_core.cli"]
    before = load()
    started = time.perf_counter()
    done = subprocess.run([*launcher, "evaluate", *args, "--threads", str(threads)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-3000:])
    return time.perf_counter() - started, f"{before} -> {load()}"


def summary(out: Path) -> tuple[int, float, dict]:
    metrics = json.loads((out / "metrics.json").read_text())
    n = sum(t["n"] for t in metrics["tasks"].values())
    seconds = sum(t["n"] / t["examples_per_s"] for t in metrics["tasks"].values() if t.get("examples_per_s"))
    answers = {(r["task"], r["id"]): r["prediction"] for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    return n, n / seconds if seconds else float("nan"), answers


CONFIGS = {"1x2": ("1 process x 2 threads", 1, 2), "2x1": ("2 processes x 1 thread", 2, 1), "1x1": ("1 process x 1 thread", 1, 1)}


def data_parallel(common: list[str], root: Path, configs: list[str]) -> None:
    print("\n## 1 process vs 2 data-parallel processes (torchrun --nproc_per_node 2, gloo)\n")
    print("| run | rows | wall s | eval ex/s | load (1/5/15 min) before -> after |")
    print("|---|---|---|---|---|")
    rows = {}
    for label, processes, threads in (CONFIGS[c] for c in configs):
        out = root / label.replace(" ", "_")
        wall, machine = run([*common, "--out", str(out)], processes, threads)
        n, speed, answers = summary(out)
        rows[label] = (wall, speed, answers)
        print(f"| {label} | {n} | {wall:.1f} | {speed:.3f} | {machine} |")
    two = rows.get(CONFIGS["2x1"][0])
    for key in ("1x2", "1x1"):
        one = rows.get(CONFIGS[key][0])
        if one and two:
            same = sum(one[2][k] == two[2].get(k) for k in one[2])
            print(f"2 processes vs {CONFIGS[key][0]}: wall {one[0] / two[0]:.2f}x, eval ex/s {two[1] / one[1]:.2f}x; same answers {same}/{len(one[2])}")


def openai_throughput(common: list[str], root: Path, model: str, levels: list[int], server_args: tuple[str, ...] = ()) -> None:
    print(f"\n## openai backend against a local `transformers serve {' '.join(server_args)}` (generate + parse)\n")
    print("| concurrency | rows | wall s | answers/s (eval) | load before -> after |")
    print("|---|---|---|---|---|")
    speeds = {}
    with LocalServer(model, root / "serve.log", extra=server_args) as server:
        for level in levels:
            out = root / f"openai-{level}"
            wall, machine = run([*common, "--out", str(out), "--backend", "openai", "--base-url", server.base_url, "--concurrency", str(level)], 1, 1)
            n, speed, _ = summary(out)
            speeds[level] = speed
            print(f"| {level} | {n} | {wall:.1f} | {speed:.3f} | {machine} |")
    if len(levels) > 1:
        print(f"\nconcurrency {levels[-1]} vs {levels[0]}: {speeds[levels[-1]] / speeds[levels[0]]:.2f}x answers/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--parts", default="dp,openai")
    parser.add_argument("--dp-tasks", default="gad", help="data-parallel runs: score mode (choices ranked)")
    parser.add_argument("--api-tasks", default="gad", help="openai runs: generate mode (short answers)")
    parser.add_argument("--limit", type=int, default=64, help="rows per task")
    parser.add_argument("--concurrency", default="1,4")
    parser.add_argument("--dp-configs", default="1x2,2x1,1x1", help="processes x threads, run in this order")
    parser.add_argument("--data-dir", type=Path, help="a data root (default: the samples shipped in the task packages)")
    parser.add_argument("--server-args", default="", help="extra `transformers serve` flags, e.g. --continuous-batching")
    args = parser.parse_args()
    model = resolve_model(args.model)
    print(f"model {args.model}; {os.cpu_count()} CPUs; load at start {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tasks = {*args.dp_tasks.split(","), *args.api_tasks.split(",")}
        data = args.data_dir or sample_data_root(root / "data", sorted(tasks))
        base = ["--model", model, "--data-dir", str(data), "--limit", str(args.limit)]
        if "dp" in args.parts:
            data_parallel([*base, "--tasks", args.dp_tasks, "--mode", "score", "--batch-size", "8"], root, args.dp_configs.split(","))
        if "openai" in args.parts:
            levels = [int(c) for c in args.concurrency.split(",")]
            openai_throughput([*base, "--tasks", args.api_tasks, "--mode", "generate"], root, model, levels, tuple(args.server_args.split()))


if __name__ == "__main__":
    main()
