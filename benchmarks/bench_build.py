"""Wall time of `medtuned build` for the full mix available in ../shared/corpora (target: <= 15 s on 2 cores).

Runs the `paper` preset (and `paper-ablation`) with --allow-missing through the real CLI in a fresh
process, as a user would, so import time is included. Credentialed sets and PMC-LLaMA are absent
from the shared corpora; the manifest lists them. Prints wall and CPU seconds per run and the rows
written; the best of --repeat runs is the figure to quote (the machine is shared).

    python benchmarks/bench_build.py [--repeat 3] [--data-dir ../shared/corpora]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from medtuned_core.testing import shared_corpora


def cpu_seconds_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(preset: str, data_dir: Path, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="medtuned-bench-") as tmp:
        out = Path(tmp, "out")
        args = ["build", "--preset", preset, "--data-dir", str(data_dir), "--out", str(out), "--allow-missing", "-q", *extra]
        cmd = [sys.executable, "-m", "medtuned_core.cli", *args]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        cpu0, t0 = cpu_seconds_of_children(), time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall, cpu = time.perf_counter() - t0, cpu_seconds_of_children() - cpu0
        if done.returncode != 0:
            raise SystemExit(f"build failed:\n{done.stdout}\n{done.stderr}")
        manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": manifest["outputs"]["train.jsonl"]["rows"],
        "tasks": len(manifest["counts"]["train"]),
        "missing": sorted({m["task"] for m in manifest["missing"]}),
        "dropped": manifest["leakage"]["dropped_rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: ../shared/corpora")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["paper", "paper-ablation"])
    args = parser.parse_args()
    data_dir = args.data_dir or shared_corpora()
    if data_dir is None:
        raise SystemExit("no corpora: pass --data-dir or set MEDTUNED_SHARED_CORPORA")
    print(f"cores available: {len(os.sched_getaffinity(0))}; data: {data_dir.name}")
    for preset in args.presets:
        runs = [run_once(preset, data_dir, []) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["wall"])
        walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
        print(f"{preset}: {best['rows']:,} rows from {best['tasks']} tasks; wall best {best['wall']:.1f} s (runs: {walls}); CPU {best['cpu']:.1f} s")
        print(f"  leakage guard dropped {best['dropped']:,} rows; missing (not in the shared corpora): {', '.join(best['missing']) or 'none'}")
    print("target: <= 15 s wall for the paper mix on 2 cores")


if __name__ == "__main__":
    main()
