"""`medtuned evaluate --mode score` against `--mode generate` on the NCBI-disease test split.

Prints, for each decoding variant, examples/s (timed over the model calls only: no model loading or
rendering), the ratio to free generation, entity F1 (the ner plugin's primary score), unparsed
answers, forward passes and tokens fed per sentence, and how many answers equal those of exact
constrained greedy decoding (the incremental variant).

Variants:
  generate     free greedy generation (the study's route, with greedy instead of 4 beams)
  incremental  exact constrained greedy over the KV cache, one forward call per word
  verify       exact constrained greedy by verify-and-fix passes, 32 tokens per row per pass on a CPU
               (the default of --mode score)
  verify-full  the same, each pass verifying the whole remaining answer (padding to the longest row)
  verify-c64   the same, 64 tokens per row per pass
  verify-q50   the same, each pass's chunks capped at the median chunk length
  verify-nowords  verify without the online word table (guesses: last pass + most frequent label)
  pass1/pass2  inexact shortcuts: keep the labels of the first / second teacher-forced pass

Usage (the issue's setting: the smollm2-135m alias, a fixed 200-sentence test sample, batch 16, 2 threads):
  python benchmarks/bench_eval_modes.py --model smollm2-135m --limit 200
  python benchmarks/bench_eval_modes.py --limit 16 --variants generate,verify   # a quick run

The corpora come from --data-dir (default ../shared/corpora). With medtuned-tasks-ner installed the
ncbi-disease task renders them; otherwise this script reads NCBI-disease/test.tsv itself at run time
(nothing from the corpus is stored). Timings on a shared machine vary with the load of other jobs:
the script prints the load average beside every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "generate": ("generate", {}),
    "incremental": ("score", {"lookahead": 0, "chunk_tokens": None}),
    "verify": ("score", {}),
    "verify-full": ("score", {"chunk_tokens": None}),
    "verify-c64": ("score", {"chunk_tokens": 64}),
    "verify-q50": ("score", {"chunk_tokens": None, "width_quantile": 0.5}),
    "verify-nowords": ("score", {"learn_words": False}),
    "pass1": ("score", {"max_passes": 1, "chunk_tokens": None}),
    "pass2": ("score", {"max_passes": 2, "chunk_tokens": None}),
}


def fallback_registry(data_dir: Path):
    """A minimal NCBI-disease plugin for when medtuned-tasks-ner is not installed (reads the corpus at run time)."""
    from seqeval.metrics import f1_score

    from medtuned_core import Parsed, TaskInfo, hookimpl
    from medtuned_core.corpus import numbered_lines
    from medtuned_core.plugins import make_registry

    task = TaskInfo(
        name="ncbi-disease",
        family="ner",
        description="NCBI-disease (benchmark fallback)",
        metric="f1",
        splits=("test",),
        data_folder="NCBI-disease",
        templates=("Tag each token of the sentence: B begins a disease name, I continues it, O is any other token. One `token : tag` line per token.",),
        labels=("B", "I", "O"),
    )

    class Plugin:
        @hookimpl
        def medtuned_register_tasks(self):
            return [task]

        @hookimpl
        def medtuned_load_corpus(self, task, data_dir, split, options):
            tokens, tags, n = [], [], 0
            for _, line in [*numbered_lines(Path(data_dir) / "NCBI-disease" / "test.tsv"), (0, "")]:
                if line.strip():
                    token, tag = line.split("\t")
                    tokens.append(token)
                    tags.append(tag)
                elif tokens:
                    yield {"id": str(n), "tokens": tokens, "tags": tags}
                    n += 1
                    tokens, tags = [], []

        @hookimpl
        def medtuned_render_instruction(self, task, example, instruction):
            toks = example["tokens"]
            return {
                "input": " ".join(toks),
                "output": "\n".join(f"{t} : {y}" for t, y in zip(toks, example["tags"], strict=True)),
                "tagging": {"tokens": toks, "labels": ["B", "I", "O"], "line": "{token} : {label}", "sep": "\n"},
            }

        @hookimpl
        def medtuned_parse_output(self, task, text, input, reference):
            n = len(input.split()) if input else len(text.splitlines())
            tags = [line.rpartition(" : ")[2].strip() for line in text.strip().splitlines()]
            tags = [t if t in ("B", "I", "O") else "O" for t in tags][:n]
            return Parsed(tags + ["O"] * (n - len(tags)), ok=len(tags) == n)

        @hookimpl
        def medtuned_score(self, task, golds, preds, rows):
            return {
                "metric": "f1",
                "score": float(f1_score([g.value for g in golds], [p.value if p.ok else ["O"] * len(g.value) for g, p in zip(golds, preds, strict=True)])),
            }

    return make_registry([Plugin()], autoload=False)


def registry_for(data_dir: Path):
    from medtuned_core.plugins import make_registry

    reg = make_registry()
    if "ncbi-disease" in reg.tasks:
        return reg, "medtuned-tasks-ner"
    return fallback_registry(data_dir), "benchmark fallback reader"


def main() -> int:
    # Other jobs share this machine: threads that spin while waiting for a busy core waste it, and
    # multi-pass decoding makes many short calls, so let OpenMP threads sleep instead (set before torch loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m", help="model folder, hub id or alias (default: smollm2-135m)")
    parser.add_argument("--data-dir", type=Path, default=None, help="corpora root (default: ../shared/corpora)")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default=None, help="float32 (default), bfloat16...")
    parser.add_argument("--variants", default="generate,incremental,verify,pass1,pass2")
    parser.add_argument("--out", type=Path, default=None, help="folder for each variant's evaluation output")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from medtuned_core.evaluate import evaluate
    from medtuned_core.evaluate.backend import HFBackend
    from medtuned_core.models import load_model_and_tokenizer
    from medtuned_core.testing import shared_corpora

    data_dir = args.data_dir or shared_corpora()
    if data_dir is None or not (Path(data_dir) / "NCBI-disease").is_dir():
        print("no corpora: pass --data-dir pointing at a folder with NCBI-disease/", file=sys.stderr)
        return 2
    registry, source = registry_for(Path(data_dir))
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_eval_"))
    model, tokenizer = load_model_and_tokenizer(args.model, dtype=args.dtype)
    print(f"model {args.model} ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params, {model.dtype}), rows from {source}")
    print(
        f"ncbi-disease test, a fixed sample of {args.limit} sentences (seed 0), batch {args.batch_size}, {args.threads} torch threads, {os.cpu_count()} CPUs on the machine"
    )

    # Warm-up (kernels, allocator), not timed.
    evaluate(
        HFBackend(model, tokenizer, model_name="warmup"),
        ["ncbi-disease"],
        data_dir,
        "test",
        out / "warmup",
        "score",
        2,
        registry=registry,
        progress=False,
        overwrite=True,
    )

    summary = {}
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        mode, options = VARIANTS[name]
        backend = HFBackend(model, tokenizer, model_name=f"{args.model} [{name}]", **options)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        metrics = evaluate(
            backend,
            ["ncbi-disease"],
            data_dir,
            "test",
            out / name,
            mode,
            args.limit,
            registry=registry,
            batch_size=args.batch_size,
            progress=False,
            overwrite=True,
        )
        wall = time.perf_counter() - started
        result = metrics["tasks"]["ncbi-disease"]
        rows = [json.loads(line) for line in (out / name / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
        summary[name] = {
            "examples_per_s": result["examples_per_s"],
            "wall_s": round(wall, 1),
            "f1": result["score"],
            "unparsed": result["unparsed"],
            "passes_per_row": sum(r["decode"].get("passes", 0) for r in rows) / len(rows),
            "fed_tokens_per_row": sum(r["decode"].get("fed_tokens", 0) for r in rows) / len(rows),
            "load": (round(load_before, 2), round(os.getloadavg()[0], 2)),
            "predictions": {r["id"]: r["prediction"] for r in rows},
        }
        s = summary[name]
        print(
            f"  {name:15s} {s['examples_per_s']:7.3f} ex/s  F1 {s['f1']:.4f}  unparsed {s['unparsed']:3d}  passes/row {s['passes_per_row']:5.1f}  fed tokens/row {s['fed_tokens_per_row']:6.0f}  load {s['load'][0]:.1f}->{s['load'][1]:.1f}",
            flush=True,
        )

    base = summary.get("generate", {}).get("examples_per_s")
    exact = summary.get("incremental", {}).get("predictions")
    print(f"\n{'variant':15s} {'ex/s':>8s} {'vs generate':>12s} {'F1':>7s} {'= exact':>8s}")
    for name, s in summary.items():
        ratio = f"{s['examples_per_s'] / base:.2f}x" if base else "—"
        same = f"{sum(exact.get(k) == v for k, v in s['predictions'].items()) / len(s['predictions']):.3f}" if exact else "—"
        print(f"{name:15s} {s['examples_per_s']:8.3f} {ratio:>12s} {s['f1']:7.4f} {same:>8s}")
    (out / "summary.json").write_text(
        json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "predictions"} for k, v in summary.items()}, indent=2), encoding="utf-8"
    )
    print(f"\noutputs in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
