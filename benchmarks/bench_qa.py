"""Measure the QA package's hot paths and print the figures.

1. Reading a large PMC-LLaMA-style release (one JSON array, synthetic rows): the streaming reader's
   throughput and peak memory, against ``json.load`` of the same file, each in a fresh process.
2. Scoring speed: MedQA option parsing and ChatDoctor ROUGE-L (rows per second), on the real corpora
   when ``../shared/corpora`` is present, else on the shipped samples.

Usage: ``python medtuned_tasks_qa/benchmarks/bench_qa.py [--rows 200000]``
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCES = ("medqa_train", "medmcqa", "pubmedqa.ori_pqaa", "liveqa", "medicationqa", "umls", "umls_relation")

_CHILD = """
import json, resource, sys, time
path, how = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if how == "stream":
    from medtuned_core.jsonstream import iter_json_array
    n = sum(1 for _ in iter_json_array(path))
else:
    with open(path, encoding="utf-8") as fh:
        n = len(json.load(fh))
seconds = time.perf_counter() - start
print(json.dumps({"rows": n, "seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_release(path: Path, rows: int) -> None:
    """Synthetic rows with the release's fields and realistic lengths (about 1 KB each)."""
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[\n")
        for i in range(rows):
            row = {
                "instruction": " ".join(rng.choices(words, k=20)),
                "input": "###Question: " + " ".join(rng.choices(words, k=120)) + "\n###Options:\nA. a\nB. b\nC. c\nD. d\n",
                "output": f"###Answer: OPTION {rng.choice('ABCD')} IS CORRECT.",
                "source": SOURCES[i % len(SOURCES)],
                "sample_id": i // len(SOURCES),
            }
            fh.write(("" if i == 0 else ",\n") + json.dumps(row))
        fh.write("\n]\n")


def measure_reading(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "release.json"
        write_release(path, rows)
        size_mb = path.stat().st_size / 2**20
        print(f"synthetic release.json: {rows} rows, {size_mb:.0f} MB")
        for how in ("stream", "json.load"):
            out = subprocess.run([sys.executable, "-c", _CHILD, str(path), how], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            print(f"  {how:9s}: {r['rows'] / r['seconds']:9.0f} rows/s ({r['seconds']:.1f} s), peak RSS {r['peak_rss_mb']:.0f} MB")


def measure_scoring() -> None:
    from medtuned_core.plugins import make_registry
    from medtuned_core.render import render_split
    from medtuned_core.scoring import score_rows
    from medtuned_core.testing import shared_corpora
    from medtuned_tasks_qa import plugin
    from medtuned_tasks_qa.tasks import SAMPLES

    registry = make_registry([plugin], autoload=False)
    root = shared_corpora() or SAMPLES
    print(f"scoring on {'the real corpora' if root != SAMPLES else 'the shipped samples'}")
    medqa = list(render_split(registry, registry.get("medqa"), root, "test"))
    rows = [
        {"task": "medqa", "input": r["input"], "reference": r["output"], "prediction": f"After weighing the options, the answer is {r['output']}"}
        for r in medqa
    ]
    import sklearn.metrics  # noqa: F401 - imported once per process by the labels kit's scorer: not what is measured

    start = time.perf_counter()
    result = score_rows(registry, rows)["medqa"]
    seconds = time.perf_counter() - start
    print(f"  medqa parse+score: {len(rows) / seconds:8.0f} rows/s ({len(rows)} rows, accuracy {result['score']:.4f})")
    chat = list(render_split(registry, registry.get("chatdoctor"), root, "train", options={"validation_fraction": 0, "test_fraction": 0}))[:2000]
    rows = [{"task": "chatdoctor", "reference": r["output"], "prediction": chat[(i + 1) % len(chat)]["output"]} for i, r in enumerate(chat)]
    start = time.perf_counter()
    result = score_rows(registry, rows)["chatdoctor"]
    seconds = time.perf_counter() - start
    print(f"  chatdoctor ROUGE:  {len(rows) / seconds:8.0f} rows/s ({len(rows)} rows, mismatched answers, ROUGE-L {result['score']:.4f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the synthetic release (default 200000)")
    args = parser.parse_args()
    measure_reading(args.rows)
    measure_scoring()


if __name__ == "__main__":
    main()
