"""The jsonstream-or-ijson decision (issue 18): speed, peak memory and error messages of the readers of one big JSON array.

Readers, each run in a fresh process on the same synthetic PMC-LLaMA-style ``release.json`` (bench_qa's rows),
interleaved over ``--rounds`` so that load on a shared machine hits them alike:

- ``jsonstream``: medtuned_tasks_qa.jsonstream.iter_json_array (stdlib ``raw_decode`` over 1 MB chunks);
- ``ijson``: ``ijson.items(fh, "item")`` with the C (yajl2_c) backend, when ijson is installed;
- ``json.load``: the whole document at once (the memory reference).

Then the message each streaming reader gives on five broken copies of a small file.

Usage: ``python benchmarks/bench_json_stream.py [--rows 200000] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_qa import write_release  # noqa: E402

_CHILD = """
import json, resource, sys, time
path, how = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if how == "jsonstream":
    from medtuned_core.jsonstream import iter_json_array
    n = sum(1 for _ in iter_json_array(path))
elif how == "ijson":
    import ijson
    with open(path, "rb") as fh:
        n = sum(1 for _ in ijson.items(fh, "item"))
else:
    with open(path, encoding="utf-8") as fh:
        n = len(json.load(fh))
seconds = time.perf_counter() - start
print(json.dumps({"rows": n, "seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def readers() -> list[str]:
    try:
        import ijson

        print(f"ijson {ijson.__version__}, backend {ijson.backend}")
        return ["jsonstream", "ijson", "json.load"]
    except ImportError:
        print("ijson is not installed: measuring jsonstream and json.load only")
        return ["jsonstream", "json.load"]


def measure(rows: int, rounds: int) -> None:
    hows = readers()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "release.json"
        write_release(path, rows)
        print(f"synthetic release.json: {rows} rows, {path.stat().st_size / 2**20:.0f} MB; load {os.getloadavg()[0]:.2f}")
        results: dict[str, list[dict]] = {h: [] for h in hows}
        for _ in range(rounds):
            for how in hows:
                out = subprocess.run([sys.executable, "-c", _CHILD, str(path), how], capture_output=True, text=True, check=True)
                results[how].append(json.loads(out.stdout))
        base = statistics.median(r["seconds"] for r in results["jsonstream"])
        for how, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            rss = max(r["peak_rss_mb"] for r in runs)
            print(
                f"  {how:10s}: {rows / seconds:9.0f} rows/s (median {seconds:.2f} s of {rounds}; {base / seconds:.2f}x jsonstream's speed), peak RSS {rss:.0f} MB"
            )
        print(f"  load after: {os.getloadavg()[0]:.2f}")


BROKEN = {
    "truncated in record 4": lambda s: s[: s.index('{"a": 3') + 12],
    "invalid token in record 4": lambda s: s.replace('"a": 3,', '"a": 3x,'),
    "trailing comma": lambda s: s.replace("\n]", ",\n]"),
    "missing comma before record 3": lambda s: s.replace('},\n{"a": 2', '}\n{"a": 2'),
    "JSON Lines, not an array": lambda s: s.strip()[1:-1].replace(",\n", "\n"),
}


def error_messages() -> None:
    from medtuned_core.errors import MedTunedError
    from medtuned_core.jsonstream import iter_json_array

    rows = [{"a": i, "text": f"record {i}"} for i in range(6)]
    good = "[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n"
    hows = readers()[:-1]
    with tempfile.TemporaryDirectory() as tmp:
        for name, breaker in BROKEN.items():
            path = Path(tmp) / "release.json"
            path.write_text(breaker(good), encoding="utf-8")
            print(f"{name}:")
            for how in hows:
                try:
                    if how == "jsonstream":
                        n = sum(1 for _ in iter_json_array(path))
                    else:
                        import ijson

                        with path.open("rb") as fh:
                            n = sum(1 for _ in ijson.items(fh, "item"))
                    print(f"  {how:10s}: no error ({n} records)")
                except (MedTunedError, Exception) as exc:  # noqa: BLE001 - we print whatever each reader raises
                    text = str(exc).replace(tmp, "DIR")
                    print(f"  {how:10s}: {type(exc).__name__}: {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    measure(args.rows, args.rounds)
    error_messages()


if __name__ == "__main__":
    main()
