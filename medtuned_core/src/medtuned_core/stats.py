"""Confidence intervals and paired tests for a task's score: a seeded bootstrap over scoring units.

A task's score is a corpus-level metric (entity F1 over all sentences, document F1 over abstracts,
accuracy over examples), so an interval resamples the *units* the metric is built from — n units drawn
with replacement, the metric recomputed — and takes the percentiles of those replicates. A replicate is
a row of multinomial counts (how often each unit was drawn); a :class:`SummedUnits` turns a whole
matrix of counts into replicates with one product ``counts @ stats`` (the task's ``medtuned_score_units``
hook, or a metric found to be the mean of the rows' own scores); a :class:`RescoredUnits` reruns the task's
score hook on each resample (the generic, slower path).

Units are kept in id order, so a replicate depends on the set of units and the seed, not on the order in
which predictions were written: ``evaluate``, ``medtuned score`` and ``compare`` draw the same resamples.
Two runs scored on the same examples therefore share their resamples, which makes the bootstrap of their
difference a *paired* bootstrap. McNemar's test complements it for accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import MedTunedError

DEFAULT_N_BOOT = 1000
DEFAULT_LEVEL = 0.95
DEFAULT_SEED = 0
MAX_CELLS = 1 << 22  # units x replicates drawn at once: bounds memory on large test sets
EXACT_MCNEMAR_BELOW = 25  # discordant pairs under which McNemar's test uses the exact binomial


@dataclass
class SummedUnits:
    """Units whose metric is ``combine(sum of their stats rows)``: a resample is one matrix product."""

    unit: str
    ids: list[str]
    stats: np.ndarray  # [n, k]
    combine: Callable[[Any], Any]
    correct: np.ndarray | None = None  # [n] bool, for accuracy metrics

    def metric(self, counts: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):  # a 0/0 draw is NaN, left out of the percentiles
            return np.asarray(self.combine(counts.astype(np.float64) @ self.stats), dtype=np.float64).reshape(len(counts))

    def take(self, order: Sequence[int]) -> SummedUnits:
        correct = None if self.correct is None else self.correct[list(order)]
        return SummedUnits(self.unit, [self.ids[i] for i in order], self.stats[list(order)], self.combine, correct)


@dataclass
class RescoredUnits:
    """Units scored by calling ``score(indices)`` on each resample (indices repeat a unit drawn twice)."""

    unit: str
    ids: list[str]
    score: Callable[[list[int]], float]
    correct = None  # an accuracy is a mean of the rows' scores, so it never needs rescoring

    def metric(self, counts: np.ndarray) -> np.ndarray:
        units = np.arange(counts.shape[1])
        return np.array([self.score(np.repeat(units, row).tolist()) for row in counts], dtype=np.float64)

    def take(self, order: Sequence[int]) -> RescoredUnits:
        order = list(order)
        return RescoredUnits(self.unit, [self.ids[i] for i in order], lambda idx: self.score([order[i] for i in idx]))


Units = SummedUnits | RescoredUnits


def ratio(summed: Any) -> Any:
    """``combine`` of ``(value, 1)`` rows: the mean of the values (accuracy, a mean ROUGE)."""
    return summed[..., 0] / summed[..., 1]


def row_scores_if_mean(score: Callable[[list[int]], float], n: int, total: float, seed: int = DEFAULT_SEED) -> np.ndarray | None:
    """Each row's own score when the metric is their mean (accuracy, mean ROUGE), else None.

    Checked, not assumed: on a few rows first (so that an F1 fails after six calls), then on all rows
    and on two resamples with repeats. A mean lets a resample be one product like any summed units."""
    rng = np.random.default_rng(seed)
    probe = rng.choice(n, size=min(n, 5), replace=False).tolist()
    if not _close(score(probe), float(np.mean([score([k]) for k in probe]))):
        return None
    rows = np.array([score([k]) for k in range(n)], dtype=np.float64)
    if not _close(float(rows.mean()), total):
        return None
    for _ in range(2):
        drawn = rng.integers(0, n, size=n).tolist()
        if not _close(score(drawn), float(rows[drawn].mean())):
            return None
    return rows


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def in_id_order(units: Units) -> Units:
    """The same units sorted by id (stable), the order every resample is drawn in."""
    return units.take(sorted(range(len(units.ids)), key=units.ids.__getitem__))


def replicates(units: Units, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> np.ndarray:
    """The metric on ``n_boot`` resamples of the units (drawn in chunks to bound memory)."""
    n = len(units.ids)
    if n == 0 or n_boot <= 0:
        return np.empty(0)
    rng = np.random.default_rng(seed)
    uniform = np.full(n, 1.0 / n)
    chunk = max(1, MAX_CELLS // n)
    out = [units.metric(rng.multinomial(n, uniform, size=min(chunk, n_boot - start))) for start in range(0, n_boot, chunk)]
    return np.concatenate(out)


def percentile_interval(values: np.ndarray, level: float = DEFAULT_LEVEL) -> tuple[float, float] | None:
    """The central ``level`` interval of the replicates (NaN replicates, e.g. a 0/0, are left out)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return None
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def interval(units: Units, n_boot: int = DEFAULT_N_BOOT, level: float = DEFAULT_LEVEL, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The fields metrics.json carries: ``ci_low``, ``ci_high``, ``n_boot``, ``ci_level``, ``ci_unit``."""
    return interval_fields(replicates(in_id_order(units), n_boot, seed), units.unit, level)


def interval_fields(values: np.ndarray, unit: str, level: float) -> dict[str, Any]:
    bounds = percentile_interval(values, level) if len(values) else None
    low, high = bounds if bounds else (None, None)
    return {"ci_low": low, "ci_high": high, "n_boot": int(len(values)), "ci_level": level, "ci_unit": unit}


def paired_difference(diff: float, differences: np.ndarray, level: float = DEFAULT_LEVEL) -> dict[str, Any]:
    """Paired bootstrap of ``B - A`` from both runs' replicates on the same resamples.

    ``p`` tests "no difference" two-sided: the share of resampled differences at least as far from the
    observed one as the observed one is from zero (the bootstrap distribution shifted to the null, as in
    Berg-Kirkpatrick et al. 2012), with the usual +1 so that it is never 0. A model compared with itself
    gets p = 1."""
    bounds = percentile_interval(differences, level)
    finite = differences[np.isfinite(differences)]
    extreme = int(np.sum(np.abs(finite - diff) >= abs(diff) - 1e-12))
    return {
        "diff": diff,
        "ci_low": None if bounds is None else bounds[0],
        "ci_high": None if bounds is None else bounds[1],
        "p_bootstrap": (extreme + 1) / (len(finite) + 1),
    }


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, Any]:
    """McNemar's test on paired right/wrong answers: exact binomial under 25 discordant pairs, otherwise
    the chi-square test with continuity correction (both two-sided)."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n = only_a + only_b
    if n == 0:
        return {"only_a": 0, "only_b": 0, "p": 1.0, "test": "exact"}
    if n < EXACT_MCNEMAR_BELOW:
        tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n
        return {"only_a": only_a, "only_b": only_b, "p": min(1.0, 2 * tail), "test": "exact"}
    chi2 = (abs(only_a - only_b) - 1) ** 2 / n
    return {"only_a": only_a, "only_b": only_b, "p": math.erfc(math.sqrt(chi2 / 2)), "test": "chi2"}


def check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise MedTunedError(f"--ci takes a level between 0 and 1 (e.g. 0.95), not {level}")
    return level


def check_n_boot(n_boot: int) -> int:
    if n_boot < 0:
        raise MedTunedError(f"--n-boot must be 0 (no interval) or a number of resamples, not {n_boot}")
    return n_boot
