"""Peak memory of `medtuned build` as the number of rows grows: it must stay flat.

A synthetic task, registered through an in-process plugin, generates N invented rows on the fly
(two sources, so per-source sampling runs too). Each size is built in a fresh process and reports
its peak RSS; the build streams (selection sampling, sharded external shuffle, parquet row groups for dataset/),
so the peak should not grow from 100K to 1M rows.

    python benchmarks/bench_build_memory.py                 # 100K, 300K, 1M rows
    python benchmarks/bench_build_memory.py --sizes 100000 1000000 --no-dataset
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

WORDS = "fever cough aspirin kidney liver rash gene protein cell dose pain scan blood heart lung renal acute chronic mild severe".split()


class SyntheticPlugin:
    """One task, ``synthetic``, with sources ``alpha`` and ``beta``; ``Synthetic/rows.json`` holds N."""

    def __init__(self) -> None:
        from medtuned_core import TaskInfo

        self.task = TaskInfo(
            name="synthetic",
            family="qa",
            description="Invented rows generated on the fly (memory benchmark).",
            metric="accuracy",
            splits=("train",),
            data_folder="Synthetic",
            templates=("Answer the question.", "Reply in one line.", "Give the answer."),
            sources=("alpha", "beta"),
            citation="none",
            license="CC0-1.0",
        )

    def medtuned_register_tasks(self):
        return [self.task]

    def medtuned_load_corpus(self, task, data_dir, split, options):
        if task.name != "synthetic":
            return None
        n = json.loads((Path(data_dir) / task.data_folder / "rows.json").read_text())["rows"]
        return self._rows(n)

    @staticmethod
    def _rows(n):
        for i in range(n):
            words = [WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(40 + i % 30)]
            yield {"id": str(i), "source": "alpha" if i % 3 else "beta", "question": " ".join(words) + f" case {i}?", "answer": " ".join(words[:12])}

    def medtuned_render_instruction(self, task, example, instruction):
        if task.name != "synthetic":
            return None
        return {"input": example["question"], "output": example["answer"]}

    def medtuned_parse_output(self, task, text, input, reference):
        from medtuned_core import Parsed

        return None if task.name != "synthetic" else Parsed(text)

    def medtuned_score(self, task, golds, preds, rows):
        return None if task.name != "synthetic" else {"metric": "accuracy", "score": 0.0}


def _hookimpls(plugin: SyntheticPlugin) -> SyntheticPlugin:
    from medtuned_core import hookimpl

    for name in ("medtuned_register_tasks", "medtuned_load_corpus", "medtuned_render_instruction", "medtuned_parse_output", "medtuned_score"):
        hookimpl(getattr(type(plugin), name))
    return plugin


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(rows: int, write_dataset: bool) -> None:
    """Build N rows in this process and print one JSON line of figures."""
    from medtuned_core.build import build_mix, parse_spec
    from medtuned_core.plugins import make_registry

    registry = make_registry([_hookimpls(SyntheticPlugin())], autoload=False)
    import datasets  # noqa: F401  (imported up front, so the baseline includes the libraries)
    import matplotlib  # noqa: F401

    spec = parse_spec({"entries": [{"task": "synthetic", "sources": {"alpha": "all", "beta": 0.5}}]}, "bench", "bench")
    with tempfile.TemporaryDirectory(prefix="medtuned-bench-") as tmp:
        data = Path(tmp, "data", "Synthetic")
        data.mkdir(parents=True)
        (data / "rows.json").write_text(json.dumps({"rows": rows}))
        baseline = rss_mib()
        start = time.perf_counter()
        result = build_mix(spec, Path(tmp, "data"), Path(tmp, "out"), registry=registry, seed=1, write_dataset=write_dataset)
        seconds = time.perf_counter() - start
        size = Path(tmp, "out", "train.jsonl").stat().st_size
    figures = {
        "rows_in": rows,
        "rows_out": result.manifest["outputs"]["train.jsonl"]["rows"],
        "train_jsonl_mib": round(size / 2**20, 1),
        "baseline_rss_mib": round(baseline, 1),
        "peak_rss_mib": round(rss_mib(), 1),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--no-dataset", action="store_true", help="skip the dataset/ stage (parquet shards and card)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, not args.no_dataset)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    print(f"{'rows in':>10} {'rows out':>10} {'train MiB':>10} {'base RSS':>9} {'peak RSS':>9} {'growth':>7} {'seconds':>8}")
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(n)] + (["--no-dataset"] if args.no_dataset else [])
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip().splitlines()[-1]
        f = json.loads(out)
        growth = f["peak_rss_mib"] - f["baseline_rss_mib"]
        print(
            f"{f['rows_in']:>10,} {f['rows_out']:>10,} {f['train_jsonl_mib']:>10} {f['baseline_rss_mib']:>9} {f['peak_rss_mib']:>9} {growth:>7.1f} {f['seconds']:>8}",
            flush=True,
        )
    print("RSS in MiB (peak = ru_maxrss of each fresh process; growth = peak - RSS before the build).")


if __name__ == "__main__":
    main()
