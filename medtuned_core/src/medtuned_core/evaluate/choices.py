"""How score mode picks one of a row's ``choices``: four scorings read from one set of log-probabilities.

A backend that ranks choices (``rank`` capability) returns, for every choice, the log-probability of each of
its tokens after the prompt — the choice's text, then the prompt format's answer end (EOS in Alpaca, the
chat template's end of turn). Every scoring below is read from those numbers, so all four cost one pass:

``greedy`` (default)  constrained greedy decoding over the prefix tree of the choices' tokens (answer end
                      included): at each branch, the allowed token the model ranks highest. It is the answer
                      free generation would give if it had to answer validly — the same answer whenever
                      free greedy generation writes a choice (with its canonical tokens) and ends it — the
                      way tagging is defined (constrained.py).
``loglik``            the choice's summed log-probability without the answer end (lm-evaluation-harness's
                      ``acc``).
``loglik-norm``       ``loglik`` divided by the choice's length in characters (lm-evaluation-harness's
                      ``acc_norm``).
``loglik-eos``        the summed log-probability with the answer end: the probability that the model writes
                      exactly that answer and stops (MedTuned's ranking before greedy became the default).

The answer end matters more than it looks: after ``A. <option>`` a model expects the list to go on, so ending
early is expensive and ending late cheap, and ``loglik-eos`` favours the last option (docs/evaluation.md
shows it on MedQA). Greedy decides at the first token that tells choices apart, like generation does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MedTunedError

GREEDY, LOGLIK, LOGLIK_NORM, LOGLIK_EOS = "greedy", "loglik", "loglik-norm", "loglik-eos"
SCORINGS = (GREEDY, LOGLIK, LOGLIK_NORM, LOGLIK_EOS)
DEFAULT_SCORING = GREEDY
# The scorings that give every choice a number (greedy gives an order of decisions, not a score).
SCORED = (LOGLIK, LOGLIK_NORM, LOGLIK_EOS)


def check_scoring(scoring: str) -> str:
    if scoring not in SCORINGS:
        raise MedTunedError(f"unknown choice scoring {scoring!r}: choose one of {', '.join(SCORINGS)}")
    return scoring


def greedy_choice(order: Sequence[str], tokens: Mapping[str, Sequence[Any]], logprobs: Mapping[str, Sequence[float]]) -> str:
    """Constrained greedy decoding over the prefix tree of ``tokens`` (each choice's full token sequence,
    answer end included): at every branch point take the allowed token with the highest log-probability,
    read from any choice that continues through it (they share the context, so they agree). Ties go to
    the choice listed first. A choice that is a proper prefix of another (possible only where nothing ends
    an answer) loses to the longer ones: generation could not stop there."""
    alive = list(dict.fromkeys(order))
    depth = 0
    while True:
        branches: dict[Any, list[str]] = {}
        for choice in alive:
            if len(tokens[choice]) > depth:
                branches.setdefault(tokens[choice][depth], []).append(choice)
        if not branches:
            return alive[0]
        if len(branches) > 1:
            best = max(branches, key=lambda t: logprobs[branches[t][0]][depth])  # first maximum: the earliest listed
            alive = branches[best]
        else:
            alive = next(iter(branches.values()))
        depth += 1


def choice_scores(choices: Sequence[str], totals: Mapping[str, float], ends: Mapping[str, float] | None) -> dict[str, dict[str, float]]:
    """``{scoring: {choice: score}}`` for the scored variants, from each choice's total log-probability (with the
    answer end when ``ends`` gives the end's part, else without it: then ``loglik-eos`` is missing)."""
    out: dict[str, dict[str, float]] = {LOGLIK: {}, LOGLIK_NORM: {}}
    if ends is not None:
        out[LOGLIK_EOS] = {}
    for choice in choices:
        total = float(totals[choice])
        text = total - float(ends[choice]) if ends is not None else total
        out[LOGLIK][choice] = text
        out[LOGLIK_NORM][choice] = text / max(len(choice), 1)
        if ends is not None:
            out[LOGLIK_EOS][choice] = total
    return out


def argmax(scores: Mapping[str, float]) -> str:
    """The best choice; ties go to the one listed first."""
    return max(scores, key=lambda c: scores[c])


def picks(choices: Sequence[str], tokens: Mapping[str, Sequence[Any]], logprobs: Mapping[str, Sequence[float]], end_tokens: int | None) -> dict[str, str]:
    """The choice of every scoring. ``end_tokens``: how many trailing tokens of each sequence are the answer
    end (None: the end was not scored — a backend that sent the choices as text — so ``loglik-eos`` is missing)."""
    order = list(dict.fromkeys(choices))
    totals = {c: sum(logprobs[c]) for c in order}
    ends = None if end_tokens is None else {c: sum(logprobs[c][len(logprobs[c]) - end_tokens :]) if end_tokens else 0.0 for c in order}
    out = {GREEDY: greedy_choice(order, tokens, logprobs)}
    out.update({name: argmax(scores) for name, scores in choice_scores(order, totals, ends).items()})
    return out


def primary(text: str, decode: Mapping[str, Any], scoring: str) -> str:
    """A ranked row's answer under ``scoring`` (from the ``picks`` a backend's outcome recorded); ``text`` for
    rows without picks (another method, or a backend that returns one choice only)."""
    chosen = decode.get("picks")
    if not isinstance(chosen, Mapping):
        return text
    if scoring not in chosen:
        have = ", ".join(chosen) or "none"
        raise MedTunedError(f"--choice-scoring {scoring}: this backend's choice scores do not give it (available: {have})")
    return str(chosen[scoring])


def row_scores(decode: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{scoring: {choice: score}}`` of a stored ranked row (its ``decode`` diagnostics), for the position-bias
    control's averages; empty for rows that were not ranked."""
    totals = decode.get("choice_logprobs")
    if not isinstance(totals, Mapping) or not totals:
        return {}
    ends = decode.get("end_logprobs")
    return choice_scores(list(totals), totals, ends if isinstance(ends, Mapping) else None)
