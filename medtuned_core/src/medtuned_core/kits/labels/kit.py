"""The labels kit as a :class:`~medtuned_core.kits.Kit`: a declaration's settings, and the five hooks' work.

Settings (the ``[labels]`` table of a task file, or keywords of ``declare(kit="labels", ...)``):

``shape``         ``"label"`` (one label per example, the default), ``"set"`` (a set of labels) or ``"choice"``
                  (a lettered multiple-choice option).
``values``        the labels: a list (``["yes", "no", "maybe"]``) or a table mapping the corpus's value to the
                  output the model writes (``{"1" = "Positive", "0" = "Negative"}``), in the order choices are
                  listed. Not for ``choice``.
``aliases``       a table of other phrases per label (``Positive = ["associated", "yes"]``), keyed by the output
                  (``label``) or the corpus value (``set``). Matching is whole words, case and punctuation ignored;
                  where two mentions overlap the longer wins (so "not associated" beats "associated").
``label``         the field holding the label (default ``label``), the label list (``labels``) or the letter
                  of the right option (``answer``).
``input``         the input text, a format string over the example's fields (default ``"{text}"``);
                  ``strip = true`` strips each field first.
``rule``          how a single label is read: ``"first"`` (the first label mentioned, the default) or
                  ``"statement"`` (the last "the answer is ..." statement, else a leading label, else the one
                  label mentioned: see :func:`~.parse.parse_answer`).
``positive``      the positive label of metric ``f1``; ``exclude``: labels left out of ``micro_f1``;
                  ``macro``: ``"all"`` (default) or ``"present"`` labels averaged by ``macro_f1``.
``separator``     sets: how outputs are joined (default ``", "``); ``none``: the corpus value meaning "no label"
                  (exclusive); ``codes``: a table of short codes per label (``{"inducing angiogenesis" = "A"}``)
                  read back as "(A)", "A"; ``document_id``: a regular expression whose group ``document`` maps
                  an example id to the document scored (HoC's ``"^(?P<document>.+)_\\d+$"``);
                  ``choice_size``: the largest label set listed in the ``choices`` hint (default 1).
``question``      choices: the question field (default ``question``), ``choices`` the field holding the options (a
                  table letter -> text, or a list lettered A, B, ...; default ``options``), ``answer_text`` a field that
                  must equal the right option's text (checked, optional), ``letters`` the labels reported
                  (default ``"ABCD"``).

The metric is the task's ``metric`` (default ``accuracy``; ``f1``, ``micro_f1``, ``macro_f1``; for sets
``document_f1`` or ``micro_f1``); see :mod:`.score`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ...errors import CorpusFormatError
from ...types import Parsed, UnitScores
from .. import DeclarationError, TaskSpec
from ..records import FORMATS, Reader, check_settings, python_loader, read_records, reader_from, require_text, split_path, template_fields
from ..records import field as record_field
from .parse import ALL_LETTERS, option_line, options_from_input, parse_answer, parse_choice, parse_label, parse_label_set
from .score import LABEL_METRICS, MACRO, SET_METRICS, label_set_units, label_units, score_label_sets, score_labels

SHAPES = ("label", "set", "choice")
RULES = ("first", "statement")
KEYS = (
    *("shape", "values", "aliases", "label", "input", "strip", "rule", "positive", "exclude", "macro"),
    *("separator", "none", "codes", "document_id", "choice_size", "question", "choices", "answer_text", "letters"),
)
DEFAULT_FIELD = {"label": "label", "set": "labels", "choice": "answer"}


@dataclass(frozen=True)
class LabelsConfig:
    """A checked labels declaration (:meth:`LabelsKit.configure`)."""

    reader: Reader
    shape: str
    metric: str
    values: dict[str, str]  # corpus value -> output text (label and set shapes), in choice order
    aliases: dict[str, tuple[str, ...]]  # parse value -> phrases that name it
    field: str
    input: str = "{text}"
    strip: bool = False
    rule: str = "first"
    positive: str | None = None
    exclude: tuple[str, ...] = ()
    macro: str = "all"
    separator: str = ", "
    none: str | None = None
    codes: dict[str, str] = field(default_factory=dict)  # code -> corpus value
    document: re.Pattern[str] | None = None
    choice_size: int = 1
    question: str = "question"
    options: str = "options"
    answer_text: str = ""
    letters: str = "ABCD"

    @property
    def labels(self) -> tuple[str, ...]:
        """What ``TaskInfo.labels`` lists: the outputs, or the option letters."""
        return tuple(self.letters) if self.shape == "choice" else tuple(self.values.values())

    @property
    def input_fields(self) -> tuple[str, ...]:
        return template_fields(self.input)

    def document_of(self, example_id: str) -> str:
        m = self.document.match(example_id) if self.document else None
        return m.group("document") if m else example_id


# -- configure ---------------------------------------------------------------------------------------------


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise DeclarationError(message, key=key)


def _strings(value: Any, key: str) -> tuple[str, ...]:
    _check(isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value), key, "must be a list of non-empty strings")
    return tuple(value)


def _table(value: Any, key: str) -> dict[str, Any]:
    _check(isinstance(value, Mapping), key, "must be a table")
    return dict(value)


def _values(settings: Mapping[str, Any], shape: str) -> dict[str, str]:
    raw = settings.get("values")
    if shape == "choice":
        _check(raw is None, "values", "a choice task reads its options from each example; use letters = ... for the label list")
        return {}
    _check(raw is not None, "values", "name the labels: a list, or a table corpus value -> output")
    values = {v: v for v in _strings(raw, "values")} if isinstance(raw, (list, tuple)) else _table(raw, "values")
    _check(bool(values) and all(isinstance(v, str) and v.strip() for v in values.values()), "values", "every label needs a non-empty output text")
    _check(len(set(values.values())) == len(values), "values", "two corpus values share one output")
    return values


def configure(spec: TaskSpec) -> LabelsConfig:
    settings = dict(spec.settings)
    check_settings(settings, KEYS, "labels")
    shape = settings.get("shape", "label")
    _check(shape in SHAPES, "shape", f"must be one of {', '.join(SHAPES)}")
    metric = spec.info.metric
    allowed = SET_METRICS if shape == "set" else LABEL_METRICS
    _check(metric in allowed, "metric", f"the labels kit scores a {shape} with one of {', '.join(allowed)}, not {metric!r}")
    values = _values(settings, shape)
    keyed_by = values if shape == "set" else {v: v for v in values.values()}
    aliases = {k: _strings(v, "aliases") for k, v in _table(settings.get("aliases", {}), "aliases").items()}
    unknown = [k for k in aliases if k not in keyed_by]
    _check(not unknown, "aliases", f"unknown label(s) {', '.join(map(repr, unknown))}; aliases are keyed by {'corpus value' if shape == 'set' else 'output'}")
    parse_aliases = {k: ((values[k],) if shape == "set" else ()) + aliases.get(k, ()) for k in keyed_by}
    outputs = set(values.values())
    positive = settings.get("positive")
    _check(metric != "f1" or positive in outputs, "positive", f"metric f1 needs positive = one of {', '.join(sorted(outputs))}")
    exclude = _strings(settings.get("exclude", []), "exclude") if settings.get("exclude") else ()
    _check(set(exclude) <= outputs, "exclude", "must list outputs of the task")
    none = settings.get("none")
    _check(none is None or none in values, "none", "must be one of the corpus values")
    codes = {code: label for label, code in _table(settings.get("codes", {}), "codes").items()}
    _check(set(codes.values()) <= set(values) and all(isinstance(c, str) and c for c in codes), "codes", "maps corpus values to non-empty codes")
    document = settings.get("document_id")
    try:
        pattern = re.compile(document) if document is not None else None
    except (re.error, TypeError) as exc:
        raise DeclarationError(f"is not a regular expression ({exc})", key="document_id") from None
    _check(pattern is None or "document" in pattern.groupindex, "document_id", "needs a group named document: (?P<document>...)")
    cfg = LabelsConfig(
        reader=reader_from(spec),
        shape=shape,
        metric=metric,
        values=values,
        aliases=parse_aliases,
        field=settings.get("label", DEFAULT_FIELD[shape]),
        input=settings.get("input", "{text}"),
        strip=settings.get("strip", False),
        rule=settings.get("rule", "first"),
        positive=positive,
        exclude=exclude,
        macro=settings.get("macro", "all"),
        separator=settings.get("separator", ", "),
        none=none,
        codes=codes,
        document=pattern,
        choice_size=settings.get("choice_size", 1),
        question=settings.get("question", "question"),
        options=settings.get("choices", "options"),
        answer_text=settings.get("answer_text", ""),
        letters=settings.get("letters", "ABCD"),
    )
    for key, attr in (("label", "field"), ("input", "input"), ("separator", "separator"), ("question", "question"), ("choices", "options")):
        _check(isinstance(getattr(cfg, attr), str), key, "must be a string")
    for key in ("answer_text", "letters"):
        _check(isinstance(getattr(cfg, key), str), key, "must be a string")
    _check(isinstance(cfg.strip, bool), "strip", "must be true or false")
    _check(cfg.rule in RULES, "rule", f"must be one of {', '.join(RULES)}")
    _check(cfg.macro in MACRO, "macro", f"must be one of {', '.join(MACRO)}")
    _check(isinstance(cfg.choice_size, int) and 1 <= cfg.choice_size <= 3, "choice_size", "must be 1, 2 or 3")
    _check(bool(cfg.letters) and set(cfg.letters) <= set(ALL_LETTERS), "letters", f"must be letters among {ALL_LETTERS}")
    try:
        cfg.input.format_map(_Probe())
    except (ValueError, IndexError, AttributeError) as exc:
        raise DeclarationError(f"is not a format string over the example's fields ({exc})", key="input") from None
    return cfg


class _Probe(dict):
    def __missing__(self, key: str) -> str:
        return ""


# -- load ------------------------------------------------------------------------------------------------


def load(spec: TaskSpec, folder: Path, split: str, options: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    cfg: LabelsConfig = spec.config
    if cfg.reader.format == "python":
        return python_loader(cfg.reader)(folder, split, dict(options))
    path = split_path(spec, cfg.reader, folder, split)  # a missing split fails here, not on first read
    return (_checked(cfg, path, where, record) for where, record in read_records(cfg.reader, path))


def _checked(cfg: LabelsConfig, path: Path, where: int, record: dict[str, Any]) -> dict[str, Any]:
    """The record as an example of the task's shape, or a CorpusFormatError naming the file and line."""
    unit = cfg.reader.unit

    def fail(message: str) -> CorpusFormatError:
        return CorpusFormatError(path, where, message, unit=unit)

    if cfg.shape == "choice":
        return _checked_choice(cfg, path, where, record, fail)
    require_text(path, where, unit, record, cfg.input_fields)
    if cfg.document and not cfg.document.match(record["id"]):
        raise fail(f"id {record['id']!r} does not name its document (document_id = {cfg.document.pattern!r})")
    if cfg.shape == "label":
        value = record_field(path, where, unit, record, cfg.field, (str, int))
        if str(value) not in cfg.values:
            raise fail(f"unknown {cfg.field} {value!r}; expected one of {', '.join(cfg.values)}")
        return {**record, cfg.field: str(value)}
    labels = record_field(path, where, unit, record, cfg.field, list)
    unknown = [v for v in labels if not isinstance(v, str) or v not in cfg.values]
    if unknown:
        raise fail(f"unknown label(s) {', '.join(map(repr, unknown))}; expected among {', '.join(cfg.values)}")
    if len(set(labels)) != len(labels):
        raise fail(f"a label is repeated: {labels!r}")
    if cfg.none is not None and cfg.none in labels and len(labels) > 1:
        raise fail(f"{cfg.none!r} cannot be combined with other labels: {labels!r}")
    return record


def _checked_choice(cfg: LabelsConfig, path: Path, where: int, record: dict[str, Any], fail: Any) -> dict[str, Any]:
    unit = cfg.reader.unit
    question = record_field(path, where, unit, record, cfg.question)
    raw = record_field(path, where, unit, record, cfg.options, (dict, list))
    options = dict(zip(ALL_LETTERS, raw, strict=False)) if isinstance(raw, list) else raw
    letters_ok = all(isinstance(k, str) and len(k) == 1 and k in ALL_LETTERS for k in options)
    if len(options) < 2 or len(options) > len(ALL_LETTERS) or not letters_ok or not all(isinstance(v, str) and v.strip() for v in options.values()):
        raise fail(f"{cfg.options} must map single capital letters (A, B, ...) to option texts, at least two")
    letter = record_field(path, where, unit, record, cfg.field)
    if letter not in options:
        raise fail(f"{cfg.field} {letter!r} is not among the options ({', '.join(sorted(options))})")
    if cfg.answer_text:
        text = record.get(cfg.answer_text, options[letter])
        if not isinstance(text, str) or text.strip() != options[letter].strip():
            raise fail(f"{cfg.answer_text} {text!r} disagrees with option {letter} {options[letter]!r}")
    if not question.strip():
        raise fail(f"field {cfg.question!r} is empty")
    return {**record, cfg.options: {k: options[k] for k in sorted(options)}}


# -- render, parse, score ----------------------------------------------------------------------------------


def _input(cfg: LabelsConfig, example: Mapping[str, Any]) -> str:
    fields = {k: v.strip() if cfg.strip and isinstance(v, str) else v for k, v in example.items()}
    return cfg.input.format_map(fields)


def set_choices(cfg: LabelsConfig) -> list[str]:
    """The outputs a set task ranks in score mode: every single label, then combinations of up to
    ``choice_size`` labels (never with ``none``), in label order."""
    labels = [v for v in cfg.values if v != cfg.none]
    out = list(cfg.values.values())
    for size in range(2, cfg.choice_size + 1):
        out += [cfg.separator.join(cfg.values[v] for v in combo) for combo in combinations(labels, size)]
    return out


def render(spec: TaskSpec, example: dict[str, Any], instruction: str) -> dict[str, Any]:
    cfg: LabelsConfig = spec.config
    if cfg.shape == "choice":
        options = example[cfg.options]
        lines = [option_line(letter, text) for letter, text in options.items()]
        answer = example[cfg.field]
        return {"input": example[cfg.question].strip() + "\n\n" + "\n".join(lines), "output": option_line(answer, options[answer]), "choices": lines}
    if cfg.shape == "set":
        return {"input": _input(cfg, example), "output": cfg.separator.join(cfg.values[v] for v in example[cfg.field]), "choices": set_choices(cfg)}
    return {"input": _input(cfg, example), "output": cfg.values[example[cfg.field]], "choices": list(cfg.values.values())}


def parse(spec: TaskSpec, text: str, input: str | None, reference: str | None) -> Parsed:
    cfg: LabelsConfig = spec.config
    if cfg.shape == "choice":
        return parse_choice(text, options_from_input(input) or None)
    if cfg.shape == "set":
        return parse_label_set(text, cfg.aliases, reference, codes=cfg.codes, none=cfg.none)
    return (parse_answer if cfg.rule == "statement" else parse_label)(text, cfg.aliases)


def _set_keywords(cfg: LabelsConfig) -> dict[str, Any]:
    return {"metric": cfg.metric, "none": cfg.none, "document_of": cfg.document_of if cfg.document else None}


def score(spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    cfg: LabelsConfig = spec.config
    if cfg.shape == "set":
        names = {label: code for code, label in cfg.codes.items()}
        return score_label_sets(golds, preds, rows, list(cfg.values), names=names, **_set_keywords(cfg))
    return score_labels(golds, preds, spec.info.labels or cfg.labels, metric=cfg.metric, positive=cfg.positive, exclude=cfg.exclude, macro=cfg.macro)


def units(spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores:
    cfg: LabelsConfig = spec.config
    if cfg.shape == "set":
        return label_set_units(golds, preds, rows, **_set_keywords(cfg))
    labels = spec.info.labels or cfg.labels
    return label_units(golds, preds, rows, labels, metric=cfg.metric, positive=cfg.positive, exclude=cfg.exclude, macro=cfg.macro)


# -- conformance -------------------------------------------------------------------------------------------


def structure(spec: TaskSpec, example: dict[str, Any]) -> Any:
    cfg: LabelsConfig = spec.config
    if cfg.shape == "set":
        return sorted(example[cfg.field])
    return example[cfg.field] if cfg.shape == "choice" else cfg.values[example[cfg.field]]


def perturb(spec: TaskSpec, example: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    cfg: LabelsConfig = spec.config
    if cfg.shape == "choice":
        pool = sorted(example[cfg.options])
    elif cfg.shape == "label":
        pool = list(cfg.values)
    else:
        labels = [v for v in cfg.values if v != cfg.none]
        size = rng.randint(0, min(cfg.choice_size + 1, len(labels)))
        chosen = sorted(rng.sample(labels, size), key=list(cfg.values).index)
        return {**example, cfg.field: chosen or ([cfg.none] if cfg.none else [])}
    return {**example, cfg.field: rng.choice(pool)}


def reference_score(spec: TaskSpec, golds: Sequence[Any], preds: Sequence[Any], ids: Sequence[str] | None = None) -> float:
    """The primary metric by scikit-learn called directly. Sets with ``document_id``: the label sets are first
    unioned per document (the document of each of ``ids``); without ids every value is its own document."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
    from sklearn.preprocessing import MultiLabelBinarizer

    cfg: LabelsConfig = spec.config
    if cfg.shape == "set":
        if cfg.document and ids is not None and cfg.metric == "document_f1":
            documents: dict[str, tuple[set[str], set[str]]] = {}
            for example_id, g, p in zip(ids, golds, preds, strict=True):
                doc = documents.setdefault(cfg.document_of(example_id), (set(), set()))
                doc[0].update(g)
                doc[1].update(p)
            golds, preds = [g for g, _ in documents.values()], [p for _, p in documents.values()]
        keep = [v for v in cfg.values if v != cfg.none]
        binarizer = MultiLabelBinarizer(classes=keep)
        y_true, y_pred = binarizer.fit_transform([set(g) - {cfg.none} for g in golds]), binarizer.transform([set(p) - {cfg.none} for p in preds])
        if cfg.metric == "micro_f1":
            return float(f1_score(y_true, y_pred, average="micro", zero_division=1.0))
        both_empty = (y_true.sum(axis=1) == 0) & (y_pred.sum(axis=1) == 0)
        rest, n = ~both_empty, len(golds)
        p = r = float(both_empty.sum())
        if rest.any():  # BLUE's empty-set convention: a document with nothing to find and nothing found has P = R = 1
            p += float(precision_score(y_true[rest], y_pred[rest], average="samples", zero_division=0.0)) * rest.sum()
            r += float(recall_score(y_true[rest], y_pred[rest], average="samples", zero_division=0.0)) * rest.sum()
        p, r = p / n, r / n
        return 2 * p * r / (p + r) if p + r else 0.0
    labels = list(spec.info.labels or cfg.labels)
    if cfg.metric == "accuracy":
        return float(accuracy_score(golds, preds))
    if cfg.metric == "f1":
        return float(f1_score(golds, preds, labels=[cfg.positive], average="micro", zero_division=0.0))
    if cfg.metric == "micro_f1":
        return float(f1_score(golds, preds, labels=[v for v in labels if v not in cfg.exclude], average="micro", zero_division=0.0))
    present = [v for v in labels if v in golds or v in preds] if cfg.macro == "present" else labels
    return float(f1_score(golds, preds, labels=present, average="macro", zero_division=0.0))


KIT_METHODS = ("configure", "load", "render", "parse", "score", "units", "structure", "perturb", "reference_score")


def module_kit(name: str, default_metric: str, functions: Mapping[str, Any]) -> Any:
    """A :class:`~medtuned_core.kits.Kit` whose methods are a module's functions of the same names (the labels
    and text kits are written as plain functions taking the spec); its readers are the record readers."""
    return SimpleNamespace(name=name, readers=FORMATS, default_metric=default_metric, **{m: functions[m] for m in KIT_METHODS})


KIT = module_kit("labels", "accuracy", globals())
