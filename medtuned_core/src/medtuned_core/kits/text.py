"""The text kit: free-text answers (a doctor's reply, a definition), scored by ROUGE-L F1 or exact match.

**ROUGE-L is a weak proxy.** It measures word overlap with one reference answer (Google's ``rouge-score``,
Porter stemming; its tokenizer keeps only ASCII letters and digits), not whether an answer is right: a
correct answer phrased differently scores low, a wrong one phrased like the reference scores high. Use it
to notice a model that stopped answering in the task's register, not to rank models on quality.

Settings (the ``[text]`` table, or keywords of ``declare(kit="text", ...)``), reader keys as in
:mod:`medtuned_core.kits.records`:

``input``           the input, a format string over the example's fields (default ``"{input}"``);
``output``          the field holding the reference answer (default ``output``);
``strip``           strip the input fields and the answer (default false);
``option_pattern``  a regular expression whose group 1 is an option letter (PMC-LLaMA's
                    ``"OPTION\\s+([A-J])\\s+IS\\s+CORRECT"``): on rows whose reference matches it, the prediction's
                    option is also read (the labels kit's :func:`~medtuned_core.kits.labels.parse_choice`, options
                    from the input) and ``option_accuracy`` is reported over those rows.

Metrics (the task's ``metric``): ``rougeL_f1`` (the default; mean over rows, ``rouge1_f1`` and ``rouge2_f1``
beside it) or ``exact_match`` (the same text after collapsing whitespace and case). Both are reported. An
empty answer is unparsed and scores 0; two texts with no scorable words (both empty) count as identical.

``rouge-score`` is needed to score ROUGE (``pip install 'medtuned-core[text]'``); it is imported on first use.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..types import Parsed, UnitScores
from . import DeclarationError, TaskSpec
from .labels.kit import module_kit
from .labels.parse import never_raises, options_from_input, parse_choice, unparsed
from .labels.score import combine_ratio, row_ids
from .records import Reader, check_settings, python_loader, read_records, reader_from, require_text, split_path, template_fields

METRICS = ("rougeL_f1", "exact_match")
KEYS = ("input", "output", "strip", "option_pattern")
NOTE = "ROUGE-L F1 against one reference answer: a weak proxy for answer quality"


@dataclass(frozen=True)
class TextConfig:
    reader: Reader
    metric: str
    input: str = "{input}"
    output: str = "output"
    strip: bool = False
    option: re.Pattern[str] | None = None


def configure(spec: TaskSpec) -> TextConfig:
    settings = dict(spec.settings)
    check_settings(settings, KEYS, "text")
    if spec.info.metric not in METRICS:
        raise DeclarationError(f"the text kit scores with {' or '.join(METRICS)}, not {spec.info.metric!r}", key="metric")
    for key in ("input", "output", "option_pattern"):
        if key in settings and not isinstance(settings[key], str):
            raise DeclarationError("must be a string", key=key)
    if not isinstance(settings.get("strip", False), bool):
        raise DeclarationError("must be true or false", key="strip")
    try:
        option = re.compile(settings["option_pattern"]) if settings.get("option_pattern") else None
    except re.error as exc:
        raise DeclarationError(f"is not a regular expression ({exc})", key="option_pattern") from None
    if option is not None and option.groups < 1:
        raise DeclarationError("needs a group holding the option letter", key="option_pattern")
    return TextConfig(
        reader_from(spec), spec.info.metric, settings.get("input", "{input}"), settings.get("output", "output"), settings.get("strip", False), option
    )


def load(spec: TaskSpec, folder: Path, split: str, options: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    cfg: TextConfig = spec.config
    if cfg.reader.format == "python":
        return python_loader(cfg.reader)(folder, split, dict(options))
    path = split_path(spec, cfg.reader, folder, split)
    return _checked(cfg.reader, path, (*template_fields(cfg.input), cfg.output))


def _checked(reader: Reader, path: Path, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for where, record in read_records(reader, path):
        require_text(path, where, reader.unit, record, fields)
        yield record


def _clean(cfg: TextConfig, value: Any) -> Any:
    return value.strip() if cfg.strip and isinstance(value, str) else value


def render(spec: TaskSpec, example: dict[str, Any], instruction: str) -> dict[str, Any]:
    cfg: TextConfig = spec.config
    fields = {k: _clean(cfg, v) for k, v in example.items()}
    return {"input": cfg.input.format_map(fields), "output": _clean(cfg, example[cfg.output])}


@never_raises
def parse_text(text: str) -> Parsed:
    """A free-text answer as it is (stripped); only an empty one is unparsed (it scores 0)."""
    clean = text.strip() if isinstance(text, str) else ""
    return Parsed(clean) if clean else unparsed("empty")


@never_raises
def parse_with_option(text: str, input: str | None, reference: str | None, pattern: re.Pattern[str]) -> Parsed:
    """``{"text", "option"}``: the text, and the option chosen where the row is multiple-choice.

    Parsing a gold (``reference`` is None), the option is the last match of ``pattern``; parsing a
    prediction, it is read by :func:`parse_choice` whenever the gold matches ``pattern``.
    """
    free = parse_text(text)
    if not free.ok:
        return free
    option = None
    if reference is None:
        found = pattern.findall(free.value)
        option = found[-1].upper() if found else None
    elif isinstance(reference, str) and pattern.search(reference):
        option = parse_choice(free.value, options_from_input(input) or None).value
    return Parsed({"text": free.value, "option": option})


def parse(spec: TaskSpec, text: str, input: str | None, reference: str | None) -> Parsed:
    cfg: TextConfig = spec.config
    return parse_text(text) if cfg.option is None else parse_with_option(text, input, reference, cfg.option)


# -- ROUGE -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _rouge() -> tuple[Any, Any]:
    """(scorer, tokenizer), built once and lazily: rouge-score loads NLTK, which ``medtuned list-tasks`` should not pay for.

    The tokenizer is rouge-score's own (``rouge_score.tokenize``, the tokens of its default tokenizer with
    Porter stemming; the version range in pyproject.toml pins that module) with the stems memoised: stemming
    is most of ROUGE's run time and answers repeat the same words.
    """
    try:
        from nltk.stem import porter
        from rouge_score import rouge_scorer, tokenize, tokenizers
    except ImportError:
        raise MedTunedError("ROUGE needs the rouge-score package: pip install 'medtuned-core[text]'") from None

    class _MemoStemmer:
        def __init__(self) -> None:
            self.stem = lru_cache(maxsize=1 << 17)(porter.PorterStemmer().stem)

    class _StemmingTokenizer(tokenizers.Tokenizer):
        def __init__(self) -> None:
            self._stemmer = _MemoStemmer()

        def tokenize(self, text: str) -> list[str]:
            return tokenize.tokenize(text, self._stemmer)

    tokenizer = _StemmingTokenizer()
    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=tokenizer), tokenizer


_ZERO = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def rouge_f1(reference: str, prediction: str) -> dict[str, float]:
    """ROUGE-1/2/L F1 of one answer. Two texts with no scorable words (e.g. both empty) count as identical."""
    return dict(zip(_ZERO, _rouge_fmeasures(reference, prediction), strict=True))


# The score hook and the units hook (the bootstrap interval) both need every row's ROUGE, the slow part of
# scoring a text task: each pair is computed once. Bounded, so a huge split only loses the reuse.
@lru_cache(maxsize=16_384)
def _rouge_fmeasures(reference: str, prediction: str) -> tuple[float, ...]:
    scorer, tokenizer = _rouge()
    if not tokenizer.tokenize(reference) and not tokenizer.tokenize(prediction):
        return (1.0,) * len(_ZERO)
    scores = scorer.score(reference, prediction)
    return tuple(scores[name].fmeasure for name in _ZERO)


def exact_match(reference: str, prediction: str) -> bool:
    """The same text after collapsing whitespace and case."""
    return " ".join(reference.split()).casefold() == " ".join(prediction.split()).casefold()


def _text(p: Parsed, key: str | None) -> str:
    value = p.value.get(key) if key and isinstance(p.value, dict) else p.value
    return value if isinstance(value, str) else ""


def _per_row(golds: Sequence[Parsed], preds: Sequence[Parsed], key: str | None, metric: str) -> list[dict[str, float]]:
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} golds but {len(preds)} predictions")
    out = []
    for g, p in zip(golds, preds, strict=True):
        row = (rouge_f1(_text(g, key), _text(p, key)) if metric == "rougeL_f1" else dict(_ZERO)) if p.ok else dict(_ZERO)
        row["exact_match"] = float(p.ok and exact_match(_text(g, key), _text(p, key)))
        out.append(row)
    return out


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def score_text(golds: Sequence[Parsed], preds: Sequence[Parsed], metric: str = "rougeL_f1", key: str | None = None) -> dict[str, Any]:
    """Mean ROUGE F1s and exact match over rows (an unparsed, i.e. empty, prediction scores 0); ``key`` picks
    the text out of a dict value. ROUGE is computed only when it is the metric."""
    rows = _per_row(golds, preds, key, metric)
    primary = "rougeL" if metric == "rougeL_f1" else "exact_match"
    out: dict[str, Any] = {"metric": metric, "score": _mean([r[primary] for r in rows]), "exact_match": _mean([r["exact_match"] for r in rows])}
    if metric == "rougeL_f1":
        out.update(rouge1_f1=_mean([r["rouge1"] for r in rows]), rouge2_f1=_mean([r["rouge2"] for r in rows]), note=NOTE)
    return out


def option_scores(golds: Sequence[Parsed], preds: Sequence[Parsed]) -> dict[str, Any]:
    """Option accuracy over the rows whose gold names an option."""
    choice = [
        (g.value["option"], p.value.get("option") if isinstance(p.value, dict) else None)
        for g, p in zip(golds, preds, strict=True)
        if g.ok and isinstance(g.value, dict) and g.value.get("option")
    ]
    return {
        "option_rows": len(choice),
        "option_accuracy": _mean([float(gold == pred) for gold, pred in choice]) if choice else None,
        "option_unparsed": sum(pred is None for _, pred in choice),
    }


def score(spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    cfg: TextConfig = spec.config
    out = score_text(golds, preds, cfg.metric, key="text" if cfg.option else None)
    return {**out, **option_scores(golds, preds)} if cfg.option else out


def units(spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores:
    """Per row ``[value, 1]``: the score is their mean (``combine_ratio`` of the column sums)."""
    cfg: TextConfig = spec.config
    primary = "rougeL" if cfg.metric == "rougeL_f1" else "exact_match"
    values = [r[primary] for r in _per_row(golds, preds, "text" if cfg.option else None, cfg.metric)]
    return UnitScores("example", row_ids(rows, len(values)), [[v, 1.0] for v in values], combine_ratio)


# -- conformance -------------------------------------------------------------------------------------------


def structure(spec: TaskSpec, example: dict[str, Any]) -> Any:
    cfg: TextConfig = spec.config
    text = str(_clean(cfg, example[cfg.output])).strip()
    if cfg.option is None:
        return text
    found = cfg.option.findall(text)
    return {"text": text, "option": found[-1].upper() if found else None}


def perturb(spec: TaskSpec, example: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The answer with words dropped at random (a third of them, at least one left)."""
    cfg: TextConfig = spec.config
    words = str(example[cfg.output]).split()
    kept = [w for w in words if rng.random() > 1 / 3] or words[:1]
    return {**example, cfg.output: " ".join(kept)}


def reference_score(spec: TaskSpec, golds: Sequence[Any], preds: Sequence[Any], ids: Sequence[str] | None = None) -> float:
    """The mean of rouge-score's own ``RougeScorer(["rougeL"], use_stemmer=True)`` F1 (or exact match), with none of this kit's code."""
    cfg: TextConfig = spec.config
    texts = [(g["text"], p["text"]) if isinstance(g, dict) else (g, p) for g, p in zip(golds, preds, strict=True)]
    if cfg.metric == "exact_match":
        return sum(" ".join(g.split()).casefold() == " ".join(p.split()).casefold() for g, p in texts) / len(texts) if texts else 0.0
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return sum(scorer.score(g, p)["rougeL"].fmeasure for g, p in texts) / len(texts) if texts else 0.0


KIT = module_kit("text", "rougeL_f1", globals())
