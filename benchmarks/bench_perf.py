"""Speed against the machine's own limit: training tokens/s and TFLOP/s against a matmul peak measured in the
same run, and evaluation examples/s of generation against score mode for every task shape, with their scores.

    python benchmarks/bench_perf.py                          # a few minutes: every section at its quick size
    python benchmarks/bench_perf.py --sections train --train-steps 12 --loss-steps 100    # + the 100-step loss check
    python benchmarks/bench_perf.py --sections eval --finetuned RUN/model --data-dir ../shared/corpora --eval-limit 200

Sections (``--sections``, comma-separated):

``peak``   a plain torch matmul, 4096 x N by N x N (N = the model's hidden size) in bf16 and fp32.
``train``  SmolLM2-135M (``--model``) training steps on rows of the demo's mix (``--data-dir``; the
           invented toy rows without it), the paths interleaved step by step on the same batches:
           ``today`` = the demo's settings before this benchmark (``precision=bf16`` as autocast over fp32
           weights, every position projected onto the vocabulary), ``bf16`` = bf16 weights with fp32 master
           weights and the vocabulary projection only where a label follows, ``bf16-8rows`` = the same with
           8 rows / 4096 tokens per batch, ``fp32``, and ``bf16-freezeN`` (``--freeze``) = ``bf16`` with the
           embeddings and the first N decoder layers frozen (``freeze_layers``). Prints tokens/s, TFLOP/s (6 x
           parameters per token, the usual convention; a frozen path counts only the work it does: 2 x all
           parameters forward, 2 x those the backward passes through, 2 x the trained ones), its share of each
           peak, and each path's ratio to ``today``.
           ``--loss-steps K`` also trains fp32, autocast, bf16+master and plain bf16 AdamW for K steps on the
           same batches and prints their losses in windows of 10 steps (the loss-curve check).
``eval``   invented tasks of each shape (benchmarks/synthetic_tasks.py: untyped tagging, typed tagging with
           65 labels, single label, multiple choice) on a tiny Llama zero-shot and after a brief training;
           with ``--data-dir``, also NCBI-disease, JNLPBA (untyped: the shared corpora have no typed copy),
           GAD and MedQA with ``--eval-model`` (default smollm2-135m) and ``--finetuned`` if given. Prints
           examples/s of generate and score mode (model calls only), the ratio, and each mode's score.

``agreement`` only the bf16-vs-fp32 answer check (``--agreement-limit`` NCBI sentences, ``--data-dir``), on
           ``--finetuned`` or ``--eval-model``; ``eval`` runs it too when ``--agreement-limit`` is set.

Timings on a shared machine move with the load of other jobs: every timed line prints the load average, and
every comparison is a ratio of paths measured in the same run, interleaved where it can be.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


# ---- matmul peak -----------------------------------------------------------------------------------------------


def matmul_peak(n: int, threads: int, seconds: float = 2.0) -> dict[str, float]:
    """GFLOP/s of ``[4096, n] @ [n, n]`` in bf16 and fp32, best of interleaved rounds: by the wall clock (``bf16``,
    ``fp32``) and per second of CPU time times the threads (``bf16-cpu``, ``fp32-cpu``: what the cores do while they
    run, an estimate of the idle machine's rate when other jobs take turns on them)."""
    import torch

    operands = {name: (torch.randn(4096, n, dtype=dt), torch.randn(n, n, dtype=dt)) for name, dt in (("bf16", torch.bfloat16), ("fp32", torch.float32))}
    best = {key: 0.0 for name in operands for key in (name, f"{name}-cpu")}
    flops = 2 * 4096 * n * n
    end = time.perf_counter() + seconds * 2
    while time.perf_counter() < end:
        for name, (a, b) in operands.items():
            a @ b
            started, cpu, calls = time.perf_counter(), time.process_time(), 0
            while calls < 3 or time.perf_counter() - started < 0.1:
                a @ b
                calls += 1
            best[name] = max(best[name], flops * calls / (time.perf_counter() - started) / 1e9)
            best[f"{name}-cpu"] = max(best[f"{name}-cpu"], flops * calls / max(time.process_time() - cpu, 1e-9) * threads / 1e9)
    return best


# ---- training --------------------------------------------------------------------------------------------------


def training_rows(data_dir: Path | None, n: int) -> list[dict[str, Any]]:
    """Rows of the demo's mix built from ``data_dir`` (the real corpora), else invented toy rows."""
    if data_dir is None:
        from medtuned_core.testing_models import tiny_rows

        return tiny_rows(n, seed=0)
    from importlib import resources

    from medtuned_core.build import build_mix, load_spec
    from medtuned_core.plugins import get_registry
    from medtuned_core.train.data import read_rows

    out = Path(tempfile.mkdtemp(prefix="bench_perf_mix_")) / "mix"
    spec = load_spec(resources.files("medtuned_core.demo").joinpath("mix.toml"))
    build_mix(spec, data_dir, out, registry=get_registry(), allow_missing=True, force=True, write_dataset=False, console=None)
    return read_rows(out / "train.jsonl")[:n]


class TrainPath:
    """One way of training: its own model copy, optimizer and collator."""

    def __init__(self, name: str, base, tokenizer, *, weights: str, autocast: bool, master: bool, label_positions: bool, lr: float = 1e-4, freeze: int = 0):
        import copy

        import torch

        from medtuned_core.train.attention import use_packed_attention
        from medtuned_core.train.data import make_collator
        from medtuned_core.train.precision import MasterWeightAdamW

        self.name, self.autocast = name, autocast
        self.model = copy.deepcopy(base).to(torch.bfloat16 if weights == "bf16" else torch.float32).train()
        use_packed_attention(self.model)
        total = sum(p.numel() for p in self.model.parameters())
        above = total  # parameters the backward pass goes through (input gradients)
        if freeze:
            from medtuned_core.train.runner import freeze_bottom

            above = total - freeze_bottom(self.model, freeze)
            head = self.model.get_output_embeddings().weight
            above += 0 if head.requires_grad else head.numel()  # a frozen (tied) output layer still passes gradients down
        params = [p for p in self.model.parameters() if p.requires_grad]
        # forward 2 x all parameters; backward 2 x those it passes through (input gradients) + 2 x trained ones
        # (weight gradients): 6 x parameters when nothing is frozen. The tied output layer is always passed through.
        self.flops_per_token = 2 * total + 2 * above + 2 * sum(p.numel() for p in params)
        self.optimizer = (MasterWeightAdamW if master else torch.optim.AdamW)(params, lr=lr, fused=True)
        self.collate = make_collator(tokenizer, packing=True, label_positions=label_positions)
        self.tokens, self.wall, self.cpu, self.steps, self.best = 0, 0.0, 0.0, 0, 0.0
        self.losses: list[float] = []

    def step(self, features: list[dict[str, Any]], timed: bool = True) -> float:
        import torch

        batch = self.collate(features)
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            loss = self.model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n = int(batch["input_ids"].numel())
        if timed:
            self.tokens, self.wall, self.cpu, self.steps = self.tokens + n, self.wall + wall, self.cpu + cpu, self.steps + 1
            self.best = max(self.best, n / wall)
        self.losses.append(float(loss.detach()))
        return self.losses[-1]


def plan(examples, rows: int, tokens: int, seed: int = 42) -> list[list[int]]:
    from medtuned_core.train.data import plan_batches

    return plan_batches([len(e) for e in examples], max_rows=rows, max_tokens=tokens, padded=False, shuffle=True, seed=seed)


def run_training(args, peaks: dict[str, float]) -> None:
    import torch

    from medtuned_core.models import load_model_and_tokenizer
    from medtuned_core.train.data import encode_rows

    base, tokenizer = load_model_and_tokenizer(args.model, dtype=torch.float32, for_training=True)
    params = sum(p.numel() for p in base.parameters())
    flops_per_token = 6 * params  # tied embeddings: the output projection is counted once, the lookup is free
    examples = encode_rows(tokenizer, training_rows(args.data_dir, 600))
    feats = [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]
    small, large = plan(examples, 4, 2048), plan(examples, 8, 4096)
    paths = {
        "today": TrainPath("today", base, tokenizer, weights="fp32", autocast=True, master=False, label_positions=False),
        "bf16": TrainPath("bf16", base, tokenizer, weights="bf16", autocast=False, master=True, label_positions=True),
        "bf16-8rows": TrainPath("bf16-8rows", base, tokenizer, weights="bf16", autocast=False, master=True, label_positions=True),
        "fp32": TrainPath("fp32", base, tokenizer, weights="fp32", autocast=False, master=False, label_positions=False),
    }
    for n in args.freeze:  # bf16 with the embeddings and the first n decoder layers frozen (train.freeze_layers)
        paths[f"bf16-freeze{n}"] = TrainPath(f"bf16-freeze{n}", base, tokenizer, weights="bf16", autocast=False, master=True, label_positions=True, freeze=n)
    chosen = args.train_paths.split(",") + [f"bf16-freeze{n}" for n in args.freeze]
    paths = {k: v for k, v in paths.items() if k in chosen} if args.train_steps else {}
    print(
        f"\n== training: {args.model} ({params / 1e6:.0f}M parameters, {flops_per_token / 1e9:.2f} GFLOP per token), {len(examples)} rows of "
        f"{'the demo mix' if args.data_dir else 'toy data'}, {args.threads} threads; {args.train_steps} timed steps per path after 1 warm-up, interleaved =="
    )
    for i in range(args.train_steps + 1 if paths else 0):
        for name, path in paths.items():
            batches = large if name.endswith("8rows") else small
            path.step([feats[j] for j in batches[i % len(batches)]], timed=i > 0)
    today = paths.get("today")
    if paths:
        print_training(paths, today, peaks, args.threads)
    if args.loss_steps:
        loss_check(args, base, tokenizer, feats, examples)


def print_training(paths: dict[str, TrainPath], today: TrainPath | None, peaks: dict[str, float], threads: int) -> None:
    print("wall clock (tokens/s, best step, TFLOP/s and its share of the wall-clock peaks) | CPU time x threads (the same against the CPU-time peaks)")
    print(
        f"{'path':12s} {'tokens/s':>9s} {'best':>7s} {'TFLOP/s':>8s} {'bf16 pk':>8s} {'fp32 pk':>8s} {'vs today':>8s} | "
        f"{'tokens/s':>9s} {'TFLOP/s':>8s} {'bf16 pk':>8s} {'fp32 pk':>8s} {'vs today':>8s}   {load()}"
    )
    for name, path in paths.items():
        rate = path.tokens / path.wall
        cpu_rate = path.tokens / (path.cpu / threads)  # tokens per second of the cores this process used
        tflops, cpu_tflops = rate * path.flops_per_token / 1e12, cpu_rate * path.flops_per_token / 1e12
        ratio = f"{rate / (today.tokens / today.wall):.2f}x" if today else "-"
        cpu_ratio = f"{cpu_rate / (today.tokens / (today.cpu / threads)):.2f}x" if today else "-"
        print(
            f"{name:12s} {rate:9.1f} {path.best:7.1f} {tflops:8.3f} {tflops * 1e3 / peaks['bf16']:8.1%} {tflops * 1e3 / peaks['fp32']:8.1%} {ratio:>8s} | "
            f"{cpu_rate:9.1f} {cpu_tflops:8.3f} {cpu_tflops * 1e3 / peaks['bf16-cpu']:8.1%} {cpu_tflops * 1e3 / peaks['fp32-cpu']:8.1%} {cpu_ratio:>8s}"
        )


def loss_check(args, base, tokenizer, feats, examples) -> None:
    """The same batches through fp32, autocast, bf16 + fp32 master weights and plain bf16 AdamW."""
    batches = plan(examples, 2, args.loss_tokens, seed=7)
    settings = {
        "fp32": {"weights": "fp32", "autocast": False, "master": False},
        "autocast": {"weights": "fp32", "autocast": True, "master": False},
        "bf16+master": {"weights": "bf16", "autocast": False, "master": True},
        "bf16-plain": {"weights": "bf16", "autocast": False, "master": False},
    }
    names = ["fp32", *(n for n in args.loss_paths.split(",") if n in settings and n != "fp32")]
    print(
        f"\n== loss check: {args.loss_steps} steps of up to 2 rows (<= {args.loss_tokens} tokens), lr {args.loss_lr:g} constant, the same batches for every path =="
    )
    paths = []
    for name in names:  # one path at a time (the losses do not depend on timing): one model copy in memory
        path = TrainPath(name, base, tokenizer, **settings[name], label_positions=True, lr=args.loss_lr)
        for i in range(args.loss_steps):
            path.step([feats[j] for j in batches[i % len(batches)]], timed=False)
        path.model = path.optimizer = None
        paths.append(path)
    window = 10
    print(f"{'steps':>9s} " + " ".join(f"{p.name:>12s}" for p in paths) + "   (mean loss per window; last column pairs: difference to fp32)")
    ref = paths[0].losses
    for start in range(0, args.loss_steps, window):
        means = [sum(p.losses[start : start + window]) / len(p.losses[start : start + window]) for p in paths]
        print(f"{start + 1:4d}-{min(start + window, args.loss_steps):<4d} " + " ".join(f"{m:12.4f}" for m in means))
    import statistics

    for path in paths[1:]:
        diffs = [a - b for a, b in zip(path.losses, ref, strict=True)]
        print(
            f"{path.name:12s} vs fp32: mean difference {statistics.mean(diffs):+.4f}, mean |difference| {statistics.mean(abs(d) for d in diffs):.4f} over {len(diffs)} steps"
        )
    steps = [abs(a - b) for a, b in zip(ref[1:], ref[:-1], strict=False)]
    print(f"for scale: fp32's own step-to-step change of the loss, mean |difference| {statistics.mean(steps):.4f}")
    (Path(args.out) / "loss_check.json").write_text(json.dumps({p.name: p.losses for p in paths}), encoding="utf-8")


# ---- evaluation ------------------------------------------------------------------------------------------------


def tiny_model_and_tokenizer(seed: int = 0):
    from synthetic_tasks import TYPED_LABELS, examples

    from medtuned_core.prompt import format_prompt
    from medtuned_core.testing_models import tiny_llama, tiny_tokenizer

    corpus = [format_prompt("Tag every token.", " ".join(r["tokens"])) + " ".join(TYPED_LABELS) for r in examples(300, 5)]
    tokenizer = tiny_tokenizer(corpus, vocab_size=512)
    return tiny_llama(tokenizer, hidden_size=128, num_layers=4, intermediate_size=256, seed=seed).eval(), tokenizer


def brief_training(model, tokenizer, root: Path, registry, steps: int, out: Path) -> Path:
    """Train the tiny model on the invented tasks' train split through ``medtuned train`` (the real path)."""
    from medtuned_core.render import render_split
    from medtuned_core.testing_models import write_build_output
    from medtuned_core.train import train

    rows = []
    for task in ("synth-untyped", "synth-typed", "synth-label", "synth-choice"):
        for row in render_split(registry, registry.tasks[task], root, "train"):
            rows.append({k: row[k] for k in ("instruction", "input", "output", "task")} | {"template_id": "builtin:0", "id": f"{task}-{row.get('id')}"})
    base = out / "tiny-base"
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    data = write_build_output(out / "tiny-data", rows=rows)
    config = {
        "recipe": "quick",
        "model": str(base),
        "data": str(data),
        "out": str(out / "tiny-run"),
        "max_steps": steps,
        "learning_rate": 3e-3,
        "per_device_batch_size": 16,
        "logging_steps": 50,
        "save_steps": 10_000,
        "eval_strategy": "no",
    }
    return train(config)


def time_eval(backend, task: str, root: Path, split: str, mode: str, limit: int | None, registry, out: Path, batch_size: int) -> dict[str, Any]:
    from medtuned_core.evaluate import evaluate

    metrics = evaluate(backend, [task], root, split, out, mode, limit, registry=registry, batch_size=batch_size, progress=False, overwrite=True)
    result = metrics["tasks"][task]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    passes = [r["decode"].get("passes") for r in rows if r.get("method") == "tag"]
    return {"ex_s": result["examples_per_s"], "score": result["score"], "metric": result["metric"], "passes": sum(passes) / len(passes) if passes else None}


def compare_modes(
    label: str, make_backend, tasks: list[str], root: Path, split: str, limit: int | None, registry, out: Path, batch_size: int, repeats: int = 1
) -> list[dict]:
    """Generate vs score per task, alternated ``repeats`` times (the best rate of each: a short run on a shared
    machine is slowed by whatever else ran in the same second, never sped up)."""
    results = []
    for task in tasks:
        runs: dict[str, list[dict[str, Any]]] = {"generate": [], "score": []}
        for _ in range(repeats):
            for mode in runs:
                runs[mode].append(time_eval(make_backend(), task, root, split, mode, limit, registry, out / label / task / mode, batch_size))
        gen, score = (max(runs[mode], key=lambda r: r["ex_s"]) for mode in ("generate", "score"))
        ratio = score["ex_s"] / gen["ex_s"] if gen["ex_s"] else float("inf")
        passes = f"  {score['passes']:.1f} passes/row" if score["passes"] is not None else ""
        print(
            f"{label:22s} {task:14s} generate {gen['ex_s']:8.3f} ex/s {gen['metric']} {gen['score']:.4f} | score {score['ex_s']:8.3f} ex/s "
            f"{score['metric']} {score['score']:.4f} | score/generate {ratio:6.2f}x{passes}  {load()}",
            flush=True,
        )
        results.append({"model": label, "task": task, "generate": gen, "score": score, "ratio": ratio})
    return results


def dtype_agreement(args, model_name: str, out: Path) -> None:
    """The same seeded NCBI-disease sample in score mode with fp32 and with bf16 weights: F1 and identical answers."""
    import torch

    from medtuned_core.evaluate import evaluate
    from medtuned_core.evaluate.backend import HFBackend
    from medtuned_core.models import load_model_and_tokenizer
    from medtuned_core.plugins import get_registry

    registry = get_registry()
    answers, figures = {}, {}
    for dtype in (torch.float32, torch.bfloat16):
        model, tokenizer = load_model_and_tokenizer(model_name, dtype=dtype)
        folder = out / "agreement" / str(dtype).replace("torch.", "")
        metrics = evaluate(
            HFBackend(model, tokenizer, model_name=model_name),
            ["ncbi-disease"],
            args.data_dir,
            "test",
            folder,
            "score",
            args.agreement_limit,
            registry=registry,
            batch_size=args.batch_size,
            progress=False,
            overwrite=True,
        )
        result = metrics["tasks"]["ncbi-disease"]
        figures[dtype] = (result["score"], (result.get("strict") or {}).get("f1"), result["examples_per_s"])
        rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
        answers[dtype] = {r["id"]: r["prediction"] for r in rows}
    (f32, s32, r32), (f16, s16, r16) = figures[torch.float32], figures[torch.bfloat16]
    same = sum(answers[torch.bfloat16][k] == v for k, v in answers[torch.float32].items()) / len(answers[torch.float32])
    strict = f", strict F1 {s32:.4f} vs {s16:.4f}" if s32 is not None and s16 is not None else ""
    print(
        f"\n== bf16 vs fp32 answers: {model_name}, ncbi-disease, {args.agreement_limit} seeded test sentences, score mode ==\n"
        f"F1 fp32 {f32:.4f} bf16 {f16:.4f} (difference {f16 - f32:+.4f}){strict}; identical answers {same:.1%}; "
        f"{r32:.3f} vs {r16:.3f} ex/s ({r16 / r32:.2f}x)  {load()}"
    )


def synthetic_eval(args, out: Path) -> list[dict]:
    import torch
    from synthetic_tasks import SyntheticPlugin, write_corpus

    from medtuned_core.evaluate.backend import HFBackend
    from medtuned_core.models import load_model_and_tokenizer
    from medtuned_core.plugins import make_registry

    root = write_corpus(out / "synthetic", n_test=args.synthetic_limit, n_train=args.tiny_train_rows)
    registry = make_registry([SyntheticPlugin()], autoload=False)
    tasks = ["synth-untyped", "synth-typed", "synth-label", "synth-choice"]
    print(
        f"\n== evaluation: generate vs score (examples/s over the model calls; batch {args.batch_size}, {args.threads} threads); "
        f"invented tasks, {args.synthetic_limit} test rows each; tiny Llama (hidden 128, 4 layers) =="
    )
    model, tokenizer = tiny_model_and_tokenizer()
    results = compare_modes(
        "tiny zero-shot", lambda: HFBackend(model, tokenizer, model_name="tiny"), tasks, root, "test", None, registry, out, args.batch_size, args.repeats
    )
    if args.tiny_train_steps:
        exported = brief_training(model, tokenizer, root, registry, args.tiny_train_steps, out)
        trained, trained_tok = load_model_and_tokenizer(str(exported), dtype=torch.float32)
        label = f"tiny trained {args.tiny_train_steps} steps"
        results += compare_modes(
            label, lambda: HFBackend(trained, trained_tok, model_name="tiny-trained"), tasks, root, "test", None, registry, out, args.batch_size, args.repeats
        )
    return results


def run_eval(args) -> None:

    from medtuned_core.evaluate.backend import HFBackend
    from medtuned_core.models import load_model_and_tokenizer

    out = Path(args.out)
    results: list[dict] = []
    if args.synthetic_limit:
        results += synthetic_eval(args, out)
    if args.data_dir is not None:
        from medtuned_core.plugins import get_registry

        real = get_registry()
        real_tasks = [t for t in ("ncbi-disease", "jnlpba", "gad", "medqa") if t in real.tasks and (args.data_dir / real.tasks[t].data_folder).is_dir()]
        models = [("eval-model", args.eval_model)] + ([("finetuned", str(args.finetuned))] if args.finetuned else [])
        for label, name in models:
            loaded, tok = load_model_and_tokenizer(name, dtype=args.dtype)
            print(f"-- {label}: {name} ({loaded.dtype}), {args.eval_limit} seeded test rows per task")
            results += compare_modes(
                f"{label} {loaded.dtype}".replace("torch.", ""),
                lambda loaded=loaded, tok=tok, label=label: HFBackend(loaded, tok, model_name=label),
                real_tasks,
                args.data_dir,
                "test",
                args.eval_limit,
                real,
                out,
                args.batch_size,
            )
    if args.data_dir is not None and args.agreement_limit:
        dtype_agreement(args, str(args.finetuned or args.eval_model), out)
    (out / "eval_results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    slower = [r for r in results if r["ratio"] < 1]
    print(f"score mode slower than generation in {len(slower)} of {len(results)} cases" + (f": {[(r['model'], r['task']) for r in slower]}" if slower else ""))


def main() -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # a shared machine: waiting threads sleep instead of spinning
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default="peak,train,eval")
    ap.add_argument("--model", default="smollm2-135m", help="the model trained in the train section")
    ap.add_argument("--data-dir", type=Path, default=None, help="corpora root (the demo mix for training; real tasks for eval)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=6, help="timed steps per training path")
    ap.add_argument("--train-paths", default="today,bf16,bf16-8rows,fp32")
    ap.add_argument(
        "--freeze", type=lambda v: [int(x) for x in v.split(",") if x], default=[15, 22], help="bf16 paths with the first N layers frozen (empty: none)"
    )
    ap.add_argument("--loss-steps", type=int, default=0, help="also run the loss-curve check for this many steps (the issue's check: 100)")
    ap.add_argument("--loss-paths", default="autocast,bf16+master,bf16-plain", help="paths of the loss check beside fp32")
    ap.add_argument("--loss-tokens", type=int, default=512, help="token budget of a loss-check batch")
    ap.add_argument("--loss-lr", type=float, default=2e-4, help="learning rate of the loss check (the demo's)")
    ap.add_argument("--synthetic-limit", type=int, default=48, help="test rows per invented task (0: skip them)")
    ap.add_argument("--repeats", type=int, default=3, help="generate/score alternations per invented task (the best of each is shown)")
    ap.add_argument("--tiny-train-steps", type=int, default=300, help="brief training of the tiny model (0: zero-shot only)")
    ap.add_argument("--tiny-train-rows", type=int, default=2000)
    ap.add_argument("--eval-model", default="smollm2-135m", help="model for the real tasks (with --data-dir)")
    ap.add_argument("--finetuned", type=Path, default=None, help="a fine-tuned export for the real tasks too")
    ap.add_argument("--eval-limit", type=int, default=32, help="seeded test rows per real task")
    ap.add_argument("--agreement-limit", type=int, default=0, help="NCBI sentences for the bf16-vs-fp32 answer check (the issue's: 200)")
    ap.add_argument("--dtype", default="auto", help="dtype of the real-task models (auto: bf16 on CPUs with bf16 instructions)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    args.out = args.out or tempfile.mkdtemp(prefix="bench_perf_")
    Path(args.out).mkdir(parents=True, exist_ok=True)

    import torch

    torch.set_num_threads(args.threads)
    from medtuned_core.models import cpu_bf16_support

    sections = {s.strip() for s in args.sections.split(",")}
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch CPU capability {torch.backends.cpu.get_cpu_capability()}, bf16 instructions: {cpu_bf16_support() or 'none'}; {load()}"
    )
    peaks = {key: float("nan") for key in ("bf16", "fp32", "bf16-cpu", "fp32-cpu")}
    if sections & {"peak", "train"}:
        from transformers import AutoConfig

        from medtuned_core.models import resolve_model

        hidden = AutoConfig.from_pretrained(resolve_model(args.model)).hidden_size
        peaks = matmul_peak(hidden, args.threads)
        print(f"\n== matmul peak (4096x{hidden} by {hidden}x{hidden}, {args.threads} threads, best round) ==")
        print(
            f"wall clock: bf16 {peaks['bf16']:.0f} GFLOP/s   fp32 {peaks['fp32']:.0f} GFLOP/s   bf16/fp32 {peaks['bf16'] / peaks['fp32']:.2f}x   {load()}\n"
            f"CPU time x threads: bf16 {peaks['bf16-cpu']:.0f} GFLOP/s   fp32 {peaks['fp32-cpu']:.0f} GFLOP/s   bf16/fp32 {peaks['bf16-cpu'] / peaks['fp32-cpu']:.2f}x"
        )
    if "train" in sections:
        run_training(args, peaks)
    if "eval" in sections:
        run_eval(args)
    elif "agreement" in sections and args.data_dir is not None:  # the bf16-vs-fp32 check alone
        dtype_agreement(args, str(args.finetuned or args.eval_model), Path(args.out))
    print(f"\noutputs in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
