"""What metrics.json and results.md say about every choice task (rows with a ``choices`` hint), beside its score.

- ``variants``: the task's score under every scoring of choices.py (score mode, ranked rows), all read from
  the same log-probabilities; ``scoring`` names the primary one (``--choice-scoring``), or ``generate`` when
  the answers were generated and parsed.
- ``distribution``: how often each answer was predicted against how often it is the gold answer (the parsed
  values: an option letter for MedQA, a label for label tasks; each label of a label set), and ``flagged``,
  the answers predicted more than twice as often as the gold has them — a model that prefers a position or a
  label shows up here before it shows up anywhere else.
- ``positions`` (with ``--permute-choices cyclic``, permute.py): per scoring, ``plain`` (the task's rows as
  rendered), ``balanced`` (accuracy over every rotation: each question is asked with the gold at every
  position once, so a pure position-picker scores exactly chance), ``debiased`` (per question, the option with
  the best score summed over its rotations — every option sits once at every position, so a per-position
  preference adds the same to each and cancels (the cyclic-permutation debiasing of Zheng et al., ICLR 2024);
  greedy and generated answers, which give no score, take the option chosen in most rotations, a tie counting
  as the share of the tied options that is right — a pure position-picker ties every option: chance),
  ``circular`` (right in every rotation, MMBench's CircularEval), ``consistent`` (the same option in every
  rotation), ``per_position`` (accuracy when the gold answer sits at each letter) and ``predicted_positions``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..plugins import Registry
from ..scoring import ParsedRow, score_parsed
from . import choices as scorings
from .permute import is_plain, letters_of

UNPARSED = "(unparsed)"
RANK, GENERATE = "rank", "generate"  # the method names of request.py (not imported: it loads torch, reports must not)
FLAG_RATIO = 2.0


@dataclass
class ChoiceRow:
    """One evaluated row of a choice task: the rendered row (its choices), the stored prediction, its parse."""

    rendered: Mapping[str, Any]
    parsed: ParsedRow

    @property
    def stored(self) -> Mapping[str, Any]:
        return self.parsed.row

    @property
    def picks(self) -> Mapping[str, str]:
        decode = self.stored.get("decode") or {}
        found = decode.get("picks") if self.stored.get("method") == RANK else None
        return found if isinstance(found, Mapping) else {}


def answer_keys(parsed: Any) -> list[str]:
    """The answers a parse counts as, for the distribution: a label, an option letter, each label of a set."""
    if not parsed.ok or parsed.value is None:
        return [UNPARSED]
    value = parsed.value
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(str(v) for v in value) or ["(none)"]
    return [str(value)]


def distribution(golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, Any]:
    gold = Counter(k for g in golds for k in answer_keys(g))
    pred = Counter(k for p in preds for k in answer_keys(p))
    keys = sorted(set(gold) | set(pred), key=lambda k: (k == UNPARSED, k))
    return {"gold": {k: gold[k] for k in keys if gold[k]}, "predicted": {k: pred[k] for k in keys if pred[k]}, "flagged": flagged(pred, gold)}


def flagged(pred: Mapping[str, int], gold: Mapping[str, int]) -> list[str]:
    """Answers whose share of the predictions is more than twice their share of the gold answers."""
    n_pred, n_gold = sum(pred.values()), sum(v for k, v in gold.items() if k != UNPARSED)
    if not n_pred or not n_gold:
        return []
    return sorted(k for k, n in pred.items() if k != UNPARSED and n / n_pred > FLAG_RATIO * gold.get(k, 0) / n_gold)


def task_report(registry: Registry, task: str, rows: Sequence[ChoiceRow], scoring: str) -> dict[str, Any] | None:
    """The ``choices`` entry of a task's metrics (None for a task without choice rows)."""
    rows = [r for r in rows if isinstance(r.rendered.get("choices"), list)]
    plain = [r for r in rows if is_plain(r.rendered)]
    if not plain:
        return None
    ranked = any(r.picks for r in plain)
    out: dict[str, Any] = {"scoring": scoring if ranked else GENERATE}
    if ranked:
        names = [s for s in scorings.SCORINGS if all(s in r.picks for r in plain if r.picks)]
        out["variants"] = {name: _variant(registry, task, plain, name) for name in names}
    out["distribution"] = distribution([r.parsed.gold for r in plain], [r.parsed.pred for r in plain])
    if any(not is_plain(r.rendered) for r in rows):
        names = list(out.get("variants", {})) or [GENERATE]
        out["positions"] = {name: positions(registry, task, [r for r in rows if "choice_order" in r.rendered], name) for name in names}
    return out


def _variant(registry: Registry, task: str, rows: Sequence[ChoiceRow], name: str) -> dict[str, Any]:
    info = registry.get(task)
    parsed = []
    for r in rows:
        if name in r.picks:
            pred = registry.parse(info, r.picks[name], input=r.stored.get("input"), reference=r.stored["reference"])
            parsed.append(ParsedRow(r.stored, r.parsed.gold, pred))
        else:
            parsed.append(r.parsed)
    scored = score_parsed(registry, parsed)[task]
    dist = distribution([p.gold for p in parsed], [p.pred for p in parsed])
    return {"metric": scored["metric"], "score": scored["score"], "predicted": dist["predicted"], "flagged": dist["flagged"]}


def _position(registry: Registry, task: str, row: ChoiceRow, name: str) -> int | None:
    """The position (index into the row's choices) of the answer under scoring ``name`` (None: no option)."""
    options = list(row.rendered["choices"])
    if name in row.picks:
        return options.index(row.picks[name]) if row.picks[name] in options else None
    text = row.stored.get("prediction")
    if text in options:
        return options.index(text)
    if not row.parsed.pred.ok:
        return None
    info = registry.get(task)
    same = [
        i
        for i, c in enumerate(options)
        if (p := registry.parse(info, c, input=row.stored.get("input"), reference=None)).ok and p.value == row.parsed.pred.value
    ]
    return same[0] if len(same) == 1 else None


def positions(registry: Registry, task: str, rows: Sequence[ChoiceRow], name: str) -> dict[str, Any]:
    """The position-bias figures of one scoring over every rotation of every question."""
    questions: dict[str, list[tuple[ChoiceRow, int | None, int]]] = {}
    for r in rows:
        picked = _position(registry, task, r, name)
        gold = list(r.rendered["choices"]).index(r.rendered["output"])
        questions.setdefault(str(r.rendered["rotation_of"]), []).append((r, picked, gold))
    letters = letters_of(rows[0].rendered["choices"]) if rows else []
    right_at: dict[str, list[bool]] = {}
    picked_at: Counter[str] = Counter()
    by_rotation: dict[int, list[bool]] = {}
    plain, circular, consistent, debiased = [], [], [], []
    for asked in questions.values():
        originals = []
        for r, picked, gold in asked:
            names = letters_of(r.rendered["choices"])
            right = picked == gold
            right_at.setdefault(names[gold], []).append(right)
            picked_at[names[picked] if picked is not None else UNPARSED] += 1
            by_rotation.setdefault(int(r.rendered["rotation"]), []).append(right)
            if not r.rendered["rotation"]:
                plain.append(right)
            originals.append(None if picked is None else r.rendered["choice_order"][picked])
        circular.append(all(p == g for _, p, g in asked))
        consistent.append(len(set(originals)) == 1 and originals[0] is not None)
        debiased.append(_debiased(asked, name))
    every = [right for rights in by_rotation.values() for right in rights]
    return {
        "questions": len(questions),
        "rotations": max((len(a) for a in questions.values()), default=0),
        "plain": _mean(plain),
        "balanced": _mean(every),
        "debiased": _mean(debiased),
        "circular": _mean(circular),
        "consistent": _mean(consistent),
        "by_rotation": {str(k): _mean(v) for k, v in sorted(by_rotation.items())},
        "per_position": {k: _mean(right_at[k]) for k in letters if k in right_at},
        "predicted_positions": {k: picked_at[k] for k in [*letters, UNPARSED] if picked_at[k]},
    }


def _debiased(asked: Sequence[tuple[ChoiceRow, int | None, int]], name: str) -> float:
    """1 when the permutation-aggregated answer of one question is right, 0 when not (a tie: the right share)."""
    gold = asked[0][0].rendered["choice_order"][asked[0][2]]
    totals: Counter[int] = Counter()
    if name in scorings.SCORED:
        for r, _, _ in asked:
            by_choice = scorings.row_scores(r.stored.get("decode") or {}).get(name, {})
            for position, choice in enumerate(r.rendered["choices"]):
                totals[r.rendered["choice_order"][position]] += by_choice.get(choice, 0.0)
    else:  # greedy or generated answers: a vote per rotation
        totals.update(r.rendered["choice_order"][p] for r, p, _ in asked if p is not None)
    if not totals:
        return 0.0
    best = max(totals.values())
    tied = [o for o, total in totals.items() if total == best]
    return (gold in tied) / len(tied)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


# -- results.md ------------------------------------------------------------------------------------------


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.2f}"


def _counts(predicted: Mapping[str, int], gold: Mapping[str, int], marked: Sequence[str]) -> str:
    keys = list(dict.fromkeys([*gold, *predicted]))
    return " · ".join(f"{k} {predicted.get(k, 0)}{' ⚠' if k in marked else ''} ({gold.get(k, 0)})" for k in keys)


def markdown(tasks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The results.md section on choice tasks, a blank line first (empty when the run has none)."""
    reports = {name: t["choices"] for name, t in tasks.items() if isinstance(t.get("choices"), Mapping)}
    if not reports:
        return []
    lines = ["", "## Choice tasks", ""]
    ranked = {n: r for n, r in reports.items() if r.get("variants")}
    if ranked:
        names = [s for s in scorings.SCORINGS if any(s in r["variants"] for r in ranked.values())]
        lines += [
            "Score under every choice scoring, all from the same log-probabilities (the primary one, `--choice-scoring`, in bold):",
            "",
            "| Task | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for task, r in ranked.items():
            cells = []
            for s in names:
                cell = _pct(r["variants"][s]["score"]) if s in r["variants"] else "—"
                cells.append(f"**{cell}**" if s == r["scoring"] else cell)
            lines.append(f"| {task} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "Predicted answers, gold counts in brackets; ⚠ marks an answer predicted more than twice as often as the gold has it:",
        "",
        "| Task | scoring | answers |",
        "|---|---|---|",
    ]
    for task, r in reports.items():
        dist = r["distribution"]
        lines.append(f"| {task} | {r['scoring']} | {_counts(dist['predicted'], dist['gold'], dist['flagged'])} |")
        for s, v in r.get("variants", {}).items():
            if s != r["scoring"]:
                lines.append(f"| {task} | {s} | {_counts(v['predicted'], dist['gold'], v['flagged'])} |")
    lines.append("")
    permuted = {n: r["positions"] for n, r in reports.items() if r.get("positions")}
    if permuted:
        lines += [
            "Position-bias control (`--permute-choices cyclic`: every question asked once per rotation of its options; accuracy, %):",
            "",
            "| Task | scoring | questions | plain | balanced | debiased | circular | consistent | accuracy by gold position |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for task, by_scoring in permuted.items():
            for s, p in by_scoring.items():
                per = " · ".join(f"{k} {_pct(v)}" for k, v in p["per_position"].items())
                cells = [_pct(p[k]) for k in ("plain", "balanced", "debiased", "circular", "consistent")]
                lines.append(f"| {task} | {s} | {p['questions']} | " + " | ".join(cells) + f" | {per} |")
    return lines[:-1] if lines[-1] == "" else lines
