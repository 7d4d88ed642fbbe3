"""NER parse + score throughput on the five real test splits, for gold-as-prediction and for noisy predictions.

    python benchmarks/bench_ner_parse.py [--seed 0] [--repeat 1]

Needs ../shared/corpora (or $MEDTUNED_SHARED_CORPORA). For each corpus it renders the test split, builds two
prediction sets — the gold outputs themselves, and a noisy set generated here with the faults real models
make (see ``corrupt``) — and runs them through the core's scoring path (both parse hooks, then the score
hook). It prints sentences/s for parsing alone and for parse + score, the F1 of each set, and the parser's
diagnostics for the noisy set. Single process, no threads.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.scoring import parse_row, score_parsed
from medtuned_core.testing import shared_corpora
from medtuned_tasks_ner import plugin

TASKS = ("ncbi-disease", "bc5cdr-disease", "bc5cdr-chem", "bc2gm", "jnlpba")
FAULTS = ("clean", "colon", "preamble", "bullets", "drop", "extra", "swap", "typed", "unknown", "truncate", "prose", "two-blocks", "paren")


def corrupt(row: dict[str, Any], rng: random.Random) -> tuple[str, str]:
    """A plausible model answer for ``row``: wrong tags on ~5% of tokens, then one formatting fault."""
    pairs = [line.rsplit(" : ", 1) for line in row["output"].split("\n")]
    pairs = [(tok, rng.choice("BIO") if rng.random() < 0.05 else tag) for tok, tag in pairs]
    fault = rng.choice(FAULTS)
    lines = [f"{tok} : {tag}" for tok, tag in pairs]
    if fault == "colon":
        lines = [f"{tok}: {tag}" for tok, tag in pairs]
    elif fault == "preamble":
        lines = ["Sure, here are the BIO labels for each token:", "", *lines, "", "Each B starts an entity."]
    elif fault == "bullets":  # a list answer; tokens that are themselves "-" or "3." keep their tags
        lines = [f"- {line}" if k % 2 else f"{k + 1}. {line}" for k, line in enumerate(lines)]
    elif fault == "drop":
        for _ in range(min(3, len(lines) - 1)):
            lines.pop(rng.randrange(len(lines)))
    elif fault == "extra":
        for _ in range(2):
            lines.insert(rng.randrange(len(lines) + 1), f"{rng.choice(['the', 'disease', 'and', ','])} : O")
    elif fault == "swap" and len(lines) > 1:
        k = rng.randrange(len(lines) - 1)
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
    elif fault == "typed":
        lines = [f"{tok} : {tag}-Entity" if tag != "O" else f"{tok} : O" for tok, tag in pairs]
    elif fault == "unknown":
        k = rng.randrange(len(lines))
        lines[k] = f"{pairs[k][0]} : Disease"
    elif fault == "truncate":
        text = "\n".join(lines)
        return fault, text[: rng.randrange(len(text) // 2, len(text) + 1)]
    elif fault == "prose":
        return fault, "The sentence does not mention any relevant entity."
    elif fault == "two-blocks":
        lines = [*lines, "", "Final answer:", *lines]
    elif fault == "paren":
        return fault, " ".join(f"{tok} ({tag})" for tok, tag in pairs)
    return fault, "\n".join(lines)


def run(registry, rows: list[dict[str, Any]], predictions: list[str]) -> tuple[float, float, dict[str, Any]]:
    """Seconds to parse, seconds to score, and the result."""
    score_rows = [{"task": r["task"], "input": r["input"], "reference": r["output"], "prediction": p} for r, p in zip(rows, predictions, strict=True)]
    t0 = time.perf_counter()
    parsed = [parse_row(registry, r) for r in score_rows]
    t1 = time.perf_counter()
    result = score_parsed(registry, parsed)[rows[0]["task"]]
    return t1 - t0, time.perf_counter() - t1, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="time each set this many times and keep the fastest")
    args = ap.parse_args()
    root = shared_corpora()
    if root is None:
        print("needs ../shared/corpora (or $MEDTUNED_SHARED_CORPORA)", file=sys.stderr)
        return 2
    registry = make_registry([plugin], autoload=False)
    import seqeval.metrics  # noqa: F401  (imported up front so its ~1 s import is not timed as scoring)

    rng = random.Random(args.seed)
    totals = {"gold": [0, 0.0, 0.0], "noisy": [0, 0.0, 0.0]}
    print(f"{'task':<16}{'set':<7}{'sents':>7}{'parse s/s':>11}{'parse+score s/s':>17}{'F1':>8}{'strict':>8}{'unparsed':>10}{'misaligned':>12}")
    for name in TASKS:
        rows = list(render_split(registry, registry.get(name), root, "test"))
        sets = {"gold": [r["output"] for r in rows], "noisy": [corrupt(r, rng)[1] for r in rows]}
        for label, predictions in sets.items():
            best = None
            for _ in range(args.repeat):
                timing = run(registry, rows, predictions)
                best = timing if best is None or sum(timing[:2]) < sum(best[:2]) else best
            parse_s, score_s, result = best
            n = len(rows)
            totals[label][0] += n
            totals[label][1] += parse_s
            totals[label][2] += parse_s + score_s
            print(
                f"{name:<16}{label:<7}{n:>7}{n / parse_s:>11.0f}{n / (parse_s + score_s):>17.0f}{result['score']:>8.4f}{result['strict']['f1']:>8.4f}"
                f"{result['unparsed']:>10}{result['misaligned']:>12}"
            )
            if label == "noisy":
                diag = result["parse"]
                print(f"{'':<23}diagnostics: " + ", ".join(f"{k}={v}" for k, v in diag.items()))
    for label, (n, parse_s, both_s) in totals.items():
        print(f"ALL {label}: {n} sentences, parse {n / parse_s:.0f} sentences/s, parse+score {n / both_s:.0f} sentences/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
