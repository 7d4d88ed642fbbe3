"""The tagging kit: one tag per token (named-entity recognition and any other BIO-style labelling).

Rendering is the study's: tokens joined by single spaces in the input, one ``token : tag`` line per
token in the output, plus a ``tagging`` decoding hint. Parsing aligns a model's answer to the tokens by
position and never raises (:mod:`.parse`). Scoring is seqeval entity F1 in the default,
conlleval-compatible mode (the primary ``score``) with the strict figure in the task's scheme beside it
and per-type figures for typed tags (:mod:`.score`). Confidence intervals resample sentences
(``units``: per-sentence ``(tp, fp, fn)``).

Declaration keys (TOML ``[reader]`` / ``[tagging]``, or keywords of ``declare``):

``[reader]`` — ``format``: ``conll`` (column files, the default), ``jsonl``, ``datasets``, or ``python``
  (``function = "package.module:function"``, called as ``function(folder, split, options)``, returns examples
  ``{"id", "tokens", "tags"}`` that the kit checks like any other: the escape hatch for formats no reader reads);
  ``files``: name patterns with ``{split}`` (default ``{split}.tsv``, ``{split}.conll``, ``{split}.txt`` for
  conll, ``{split}.jsonl`` for jsonl) or a table ``{train = "eng.train", validation = "eng.testa"}``;
  ``separator``: ``"\\t"`` (default), any other string, or ``"whitespace"`` (runs of spaces/tabs, CoNLL);
  ``columns`` (2), ``token_column`` (0), ``tag_column`` (-1: the last), counted from 0;
  ``docstart`` (true: skip ``-DOCSTART-`` lines), ``comment`` (a line prefix to skip, default none);
  ``encoding`` (``utf-8``); ``tokens_field`` (``tokens``) and ``tags_field`` (default: the first of
  ``tags``, ``ner_tags_str``, ``ner_tags``, ``labels`` holding tags) for JSONL and datasets records.
  Whatever the format, a split may also come as ``{split}.jsonl`` or as a datasets folder.

``[tagging]`` — ``scheme``: ``iob1``, ``iob2`` (default), ``iobes`` or ``bilou``; ``types``: entity types
  (``["Organ", "Cell"]``; none = untyped ``B``/``I``/``O``). ``TaskInfo.labels`` defaults to the tag set
  these give (:func:`~.scheme.tag_set`); declared labels must be tags of the scheme. ``per_type``:
  per-type figures (default: when typed).

Task options (``TaskInfo.options`` / ``--option``): ``repair`` (default true: repair the quirks listed in
:mod:`.readers` and warn; false: each is an error), ``tags_field``.
"""

from __future__ import annotations

import codecs
import difflib
import random
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...types import Parsed, UnitScores
from .. import DeclarationError, TaskSpec
from .parse import parse_tags
from .readers import (
    JSONL_PATTERNS,
    ColumnLayout,
    CorpusRepairWarning,
    load_split,
    read_column_file,
    read_datasets_tagged,
    read_function_tagged,
    read_jsonl_tagged,
)
from .scheme import OUTSIDE, SCHEMES, TagScheme, label_problems, tag_set
from .score import PLACEHOLDER_TYPE, default_mode_tags, entity_units, score_entities

LINE_FORMAT = "{token} : {label}"
LINE_SEP = "\n"
METRIC = "entity_f1"
DEFAULT_FILES = {"conll": ColumnLayout.patterns, "jsonl": JSONL_PATTERNS, "datasets": (), "python": ()}
_READER_KEYS = ("separator", "columns", "token_column", "tag_column", "docstart", "comment", "encoding", "tokens_field", "tags_field", "function")
_KIT_KEYS = ("scheme", "types", "per_type")


def render_tags(tokens: Sequence[str], tags: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """The study's rendering: tokens joined by spaces in; one ``token : tag`` line per token out; the
    ``tagging`` hint lets ``evaluate --mode score`` force the token parts and rank only the labels."""
    return {
        "input": " ".join(tokens),
        # LINE_FORMAT written with C-level joins (render runs over every sentence of every corpus).
        "output": LINE_SEP.join(map(" : ".join, zip(tokens, tags, strict=True))),
        "tagging": {"tokens": list(tokens), "labels": list(labels), "line": LINE_FORMAT, "sep": LINE_SEP},
    }


@dataclass(frozen=True)
class TaggingConfig:
    """What :meth:`TaggingKit.configure` makes of a declaration."""

    scheme: TagScheme
    layout: ColumnLayout
    labels: tuple[str, ...]
    per_type: bool
    function: str = ""  # the python reader's "package.module:function"


def _setting(settings: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = settings.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DeclarationError(f"must be {names}, not {type(value).__name__} ({value!r})", key=key)
    return value


def _layout(spec: TaskSpec) -> ColumnLayout:
    s = spec.settings
    separator = _setting(s, "separator", str, "\t")
    if separator == "":
        raise DeclarationError('must not be empty (use "whitespace" for runs of spaces and tabs)', key="separator")
    columns = _setting(s, "columns", int, 2)
    if columns < 2:
        raise DeclarationError("must be at least 2 (a token and a tag)", key="columns")
    token_column, tag_column = _setting(s, "token_column", int, 0), _setting(s, "tag_column", int, -1)
    for key, value in (("token_column", token_column), ("tag_column", tag_column)):
        if not -columns <= value < columns:
            raise DeclarationError(f"{value} is outside the {columns} columns (0..{columns - 1}, or negative from the end)", key=key)
    if token_column % columns == tag_column % columns:
        raise DeclarationError("the token and the tag are in the same column", key="tag_column")
    encoding = _setting(s, "encoding", str, "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DeclarationError(f"unknown encoding {encoding!r}", key="encoding") from None
    files = spec.files or DEFAULT_FILES[spec.reader]
    split_files: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if isinstance(files, Mapping):
        split_files = tuple((split, (names,) if isinstance(names, str) else tuple(names)) for split, names in files.items())
        unknown = [split for split, _ in split_files if split not in spec.info.splits]
        if unknown:
            raise DeclarationError(f"names files for split(s) {', '.join(unknown)} the task does not have ({', '.join(spec.info.splits)})", key="files")
        files = ()
    elif any("{split}" not in f for f in files):
        raise DeclarationError('every pattern needs "{split}" (or give a table: files = {train = "a.tsv", test = "b.tsv"})', key="files")
    return ColumnLayout(
        patterns=tuple(files),
        split_files=split_files,
        separator=None if separator == "whitespace" else separator,
        columns=columns,
        token_column=token_column,
        tag_column=tag_column,
        docstart=_setting(s, "docstart", bool, True),
        comment=_setting(s, "comment", str, ""),
        encoding=encoding,
        tokens_field=_setting(s, "tokens_field", str, "tokens"),
        tags_field=_setting(s, "tags_field", str, ""),
    )


class TaggingKit:
    """The :class:`~medtuned_core.kits.Kit` for one tag per token."""

    name = "tagging"
    readers = ("conll", "jsonl", "datasets", "python")
    default_metric = METRIC

    def configure(self, spec: TaskSpec) -> TaggingConfig:
        unknown = [k for k in spec.settings if k not in (*_READER_KEYS, *_KIT_KEYS)]
        if unknown:
            close = difflib.get_close_matches(unknown[0], (*_READER_KEYS, *_KIT_KEYS), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DeclarationError(
                f"not a setting of the tagging kit (reader: {', '.join(_READER_KEYS)}; tagging: {', '.join(_KIT_KEYS)}){hint}", key=unknown[0]
            )
        scheme = _setting(spec.settings, "scheme", str, "iob2").lower()
        if scheme not in SCHEMES:
            raise DeclarationError(f"unknown scheme {scheme!r} (known: {', '.join(SCHEMES)})", key="scheme")
        types = _setting(spec.settings, "types", (list, tuple), ())
        if not all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in types) or len(set(types)) != len(types):
            raise DeclarationError("must be distinct type names without spaces", key="types")
        labels = tuple(spec.info.labels) or tag_set(scheme, types)
        problems = label_problems(labels, scheme)
        if problems:
            raise DeclarationError("; ".join(problems), key="labels")
        if types and set(labels) != set(tag_set(scheme, types)):
            raise DeclarationError(
                f"labels and types disagree: {scheme.upper()} with types {', '.join(types)} gives {', '.join(tag_set(scheme, types))}", key="labels"
            )
        typed = any("-" in t for t in labels)
        per_type = _setting(spec.settings, "per_type", bool, typed)
        function = _setting(spec.settings, "function", str, "")
        if (spec.reader == "python") != bool(function) or (function and function.count(":") != 1):
            raise DeclarationError('the python reader, and only it, takes function = "package.module:function"', key="function")
        return TaggingConfig(scheme=TagScheme(labels, typed, scheme), layout=_layout(spec), labels=labels, per_type=per_type, function=function)

    # -- the five task hooks -------------------------------------------------------------------------------
    def load(self, spec: TaskSpec, folder: Path, split: str, options: Mapping[str, Any]) -> list[dict[str, Any]]:
        cfg: TaggingConfig = spec.config
        if cfg.function:
            return read_function_tagged(cfg.function, folder, split, cfg.scheme, cfg.layout, dict(options))
        return load_split(spec.name, folder, split, cfg.scheme, cfg.layout, spec.reader, dict(options))

    def render(self, spec: TaskSpec, example: dict[str, Any], instruction: str) -> dict[str, Any]:
        return render_tags(example["tokens"], example["tags"], spec.config.labels)

    def parse(self, spec: TaskSpec, text: str, input: str | None, reference: str | None) -> Parsed:
        return parse_tags(text, input, reference, spec.config.scheme)

    def score(self, spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return score_entities(golds, preds, spec.config.scheme, spec.config.per_type)

    def units(self, spec: TaskSpec, golds: Sequence[Parsed], preds: Sequence[Parsed], rows: Sequence[dict[str, Any]]) -> UnitScores:
        return entity_units(golds, preds, rows, spec.config.scheme)

    # -- conformance -----------------------------------------------------------------------------------------
    def structure(self, spec: TaskSpec, example: dict[str, Any]) -> list[str]:
        return list(example["tags"])

    def perturb(self, spec: TaskSpec, example: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """Each tag replaced with probability 0.2 by a random tag of the task, plus one entity dropped at times."""
        labels = spec.config.labels
        tags = [rng.choice(labels) if rng.random() < 0.2 else t for t in example["tags"]]
        if rng.random() < 0.3:
            starts = [k for k, t in enumerate(tags) if t != OUTSIDE]
            if starts:
                k = rng.choice(starts)
                tags[k] = OUTSIDE
        return {**example, "tags": tags}

    def reference_score(self, spec: TaskSpec, golds: Sequence[Any], preds: Sequence[Any], ids: Sequence[str] | None = None) -> float:
        """seqeval's default-mode F1, called directly (untyped tags get the ``-ENT`` type, BILOU's L/U read as
        E/S); 1.0 when neither side holds an entity, as the kit scores it."""
        from seqeval.metrics import f1_score

        def typed(tags: Sequence[str]) -> list[str]:
            out = [t if t == OUTSIDE or "-" in t else f"{t}-{PLACEHOLDER_TYPE}" for t in tags]
            return default_mode_tags(out) if spec.config.scheme.name == "bilou" else out

        y_true, y_pred = [typed(g) for g in golds], [typed(p) for p in preds]
        if not any(t != OUTSIDE for seq in (*y_true, *y_pred) for t in seq):
            return 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(f1_score(y_true, y_pred, zero_division=0))


KIT = TaggingKit()

__all__ = [
    "KIT",
    "LINE_FORMAT",
    "ColumnLayout",
    "CorpusRepairWarning",
    "TagScheme",
    "TaggingConfig",
    "TaggingKit",
    "entity_units",
    "parse_tags",
    "read_column_file",
    "read_datasets_tagged",
    "read_jsonl_tagged",
    "render_tags",
    "score_entities",
    "tag_set",
]
