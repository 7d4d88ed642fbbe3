"""Every choice scoring side by side: SmolLM2-135M-Instruct on MedQA and PubMedQA in score mode, with the
answer distributions and the position-bias control.

    python benchmarks/bench_choices.py --data-dir ../shared/corpora [--formats auto,alpaca] [--medqa 200] [--pubmedqa 500] [--out DIR]

Runs ``medtuned evaluate --mode score --permute-choices cyclic`` on a fixed seeded sample of ``--medqa`` MedQA
test questions (``--limit``, seed ``--seed``: the sample every MedTuned MedQA figure uses) and on ``--pubmedqa``
PubMedQA test questions (500: the whole official test set; fewer: a seeded sample), once per prompt format
(``auto`` is what ``evaluate`` picks by itself: the chat template for an Instruct model). Every scoring comes from
the same forward passes; the position-bias control asks each MedQA question once per rotation of its four
options (PubMedQA's yes/no/maybe are not listed in the prompt: asked once).

Prints, per task, format and scoring: accuracy with its 95 % interval (``ci_low``/``ci_high`` from metrics.json
where evaluate reports them for the primary scoring, else a seeded percentile bootstrap over questions computed
here), the answer distribution against the gold one (⚠: more than twice the gold share), and the position
figures (balanced: accuracy over all rotations; debiased: the answer aggregated over rotations). Sizes, wall
time and the machine load (``uptime``) are printed with it. Each run is a normal evaluation folder under
``--out`` (rerunning resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

SCORINGS = ("greedy", "loglik", "loglik-norm", "loglik-eos")


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"load average {os.getloadavg()[0]:.2f}"


def bootstrap(correct: list[bool], n_boot: int, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap 95 % interval of the mean of ``correct`` (resampling questions)."""
    rng = random.Random(seed)
    n = len(correct)
    means = sorted(sum(correct[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return means[int(0.025 * n_boot)], means[min(n_boot - 1, int(0.975 * n_boot))]


def table_rows(task: str, fmt: str, folder: Path, n_boot: int) -> list[str]:
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    result = metrics["tasks"][task]
    report = result["choices"]
    rows = [json.loads(line) for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    plain = [r for r in rows if r["task"] == task and not r.get("rotation")]
    gold = report["distribution"]["gold"]
    out = []
    for scoring in SCORINGS:
        variant = report["variants"].get(scoring)
        if variant is None:
            continue
        if scoring == report["scoring"] and result.get("ci_low") is not None:
            low, high, how = result["ci_low"], result["ci_high"], "metrics.json"
        else:
            low, high = bootstrap([r["decode"]["picks"][scoring] == r["reference"] for r in plain], n_boot)
            how = "bootstrap"
        marked = set(variant["flagged"])
        answers = " · ".join(f"{k} {variant['predicted'].get(k, 0)}{' ⚠' if k in marked else ''}" for k in dict.fromkeys([*gold, *variant["predicted"]]))
        position = report.get("positions", {}).get(scoring)
        balanced = "—" if position is None else f"{position['balanced']:.3f}"
        debiased = "—" if position is None else f"{position['debiased']:.3f}"
        out.append(
            f"| {task} | {metrics['run']['format']} | {scoring} | {variant['score']:.3f} | [{low:.3f}, {high:.3f}] ({how}) | {answers} | {balanced} | {debiased} |"
        )
    gold_text = " · ".join(f"{k} {v}" for k, v in gold.items())
    out.append(f"| {task} | {metrics['run']['format']} | *gold* | | | {gold_text} | | |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=Path("../shared/corpora"))
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--formats", default="auto", help="comma-separated: auto, alpaca, chat")
    ap.add_argument("--medqa", type=int, default=200, help="MedQA test questions (a seeded sample)")
    ap.add_argument("--pubmedqa", type=int, default=500, help="PubMedQA test questions (500: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--permute", default="cyclic", choices=["cyclic", "none"])
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples for the intervals computed here")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from medtuned_core.evaluate import evaluate

    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="medtuned-choices-"))
    runs = [("medqa", args.medqa), ("pubmedqa", args.pubmedqa)]
    print(f"model {args.model}; MedQA {args.medqa} (seed {args.seed}), PubMedQA {args.pubmedqa}; permute {args.permute}; torch threads {args.threads}")
    print(f"start: {uptime()}", flush=True)
    lines = []
    for fmt in [f for f in args.formats.split(",") if f]:
        for task, limit in runs:
            if not limit:
                continue
            folder = out / f"{task}-{fmt}"
            started = time.perf_counter()
            evaluate(
                args.model,
                [task],
                args.data_dir,
                "test",
                folder,
                "score",
                None if task == "pubmedqa" and limit >= 500 else limit,
                seed=args.seed,
                batch_size=args.batch_size,
                prompt_format=fmt,
                permute_choices=args.permute,
                progress=False,
            )
            print(f"  {task} {fmt}: {time.perf_counter() - started:.0f} s; {uptime()}", flush=True)
            lines += table_rows(task, fmt, folder, args.boot)
    print("\n| task | format | scoring | accuracy | 95 % interval | answers (⚠ > 2× gold share) | balanced | debiased |")
    print("|---|---|---|---:|---|---|---:|---:|")
    print("\n".join(lines))
    print(f"\nend: {uptime()}\noutputs: {out}")


if __name__ == "__main__":
    main()
