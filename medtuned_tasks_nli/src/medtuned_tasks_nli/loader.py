"""Reading MedNLI in its released SNLI-style JSONL, or in BLUE's TSV conversion (the labels kit's ``python`` reader).

* ``mli_{train,dev,test}_v1.jsonl`` (PhysioNet release): one object per line with ``pairID``,
  ``sentence1`` (premise), ``sentence2`` (hypothesis), ``gold_label`` and four parse fields we ignore.
* ``{train,dev,test}.tsv`` (BLUE, ``create_mednli_bert.py``): header ``index sentence1 sentence2 label``,
  written by Python's csv module, so a field holding a quote or a tab is quoted.

The JSONL file wins when both exist for a split. Every bad row raises :class:`CorpusFormatError`
naming the file and line. The one repair: SNLI's ``gold_label`` ``-`` (annotators reached no
majority, so the pair has no answer) is skipped and the skipped rows are counted in a warning,
as SNLI's own evaluations drop them; option ``no_consensus=error`` turns that into an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medtuned_core.corpus import split_file
from medtuned_core.errors import CorpusFormatError
from medtuned_core.io import read_jsonl, read_rows

from .tasks import MEDNLI, MEDNLI_LABEL_TO_OUTPUT, NO_CONSENSUS

log = logging.getLogger(__name__)

FILE_PATTERNS = ("mli_{split}_v1.jsonl", "{split}.tsv")
JSON_FIELDS = ("pairID", "sentence1", "sentence2", "gold_label")
BLUE_HEADER = ["index", "sentence1", "sentence2", "label"]
NO_CONSENSUS_POLICIES = ("skip", "error")


def load_mednli(folder: Path, split: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The labels kit's reader: the split's file under ``folder`` (``validation`` is the release's ``dev``)."""
    path = split_file(MEDNLI, Path(folder), split, FILE_PATTERNS)  # a missing split fails here, not on first read
    return read_mednli(path, no_consensus=str(options.get("no_consensus", "skip")))


def read_mednli(path: Path, no_consensus: str = "skip") -> Iterator[dict[str, Any]]:
    """Examples ``{"id", "sentence1", "sentence2", "gold_label"}`` in file order, from either format."""
    if no_consensus not in NO_CONSENSUS_POLICIES:
        raise CorpusFormatError(path, None, f"option no_consensus={no_consensus!r} must be one of {', '.join(NO_CONSENSUS_POLICIES)}")
    rows = _blue_tsv_rows(path) if path.suffix == ".tsv" else _jsonl_rows(path)
    return _checked(path, rows, no_consensus)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for lineno, obj in read_jsonl(path):
        missing = [k for k in JSON_FIELDS if k not in obj]
        if missing:
            raise CorpusFormatError(path, lineno, f"missing field(s) {', '.join(map(repr, missing))}; MedNLI rows need {', '.join(JSON_FIELDS)}")
        yield lineno, {k: obj[k] for k in JSON_FIELDS}


def _blue_tsv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # A quoted field may span lines: each record is numbered by the line where it starts.
    for lineno, record in read_rows(path, "\t", quoting=True):
        if lineno == 1:
            if record != BLUE_HEADER:
                looks_like_data = len(record) == 4 and record[3].strip().lower() in (*MEDNLI_LABEL_TO_OUTPUT, NO_CONSENSUS)
                why = "the header is missing" if looks_like_data else f"got {record!r}"
                raise CorpusFormatError(path, 1, f"expected BLUE's header 'index<TAB>sentence1<TAB>sentence2<TAB>label'; {why}")
            continue
        if len(record) != 4:
            raise CorpusFormatError(path, lineno, f"expected 4 tab-separated columns (index, sentence1, sentence2, label), found {len(record)}")
        if record == BLUE_HEADER:
            raise CorpusFormatError(path, lineno, "a second header row (files concatenated?)")
        yield lineno, dict(zip(JSON_FIELDS, record, strict=True))


def _checked(path: Path, rows: Iterator[tuple[int, dict[str, Any]]], no_consensus: str) -> Iterator[dict[str, Any]]:
    first_line: dict[str, int] = {}
    skipped = 0
    for lineno, row in rows:
        pair_id = row["pairID"]
        if isinstance(pair_id, int) and not isinstance(pair_id, bool):
            pair_id = str(pair_id)
        if not isinstance(pair_id, str) or not pair_id.strip():
            raise CorpusFormatError(path, lineno, f"pairID must be a non-empty string, got {row['pairID']!r}")
        for key in ("sentence1", "sentence2"):
            if not isinstance(row[key], str) or not row[key].strip():
                raise CorpusFormatError(path, lineno, f"{key} must be a non-empty string, got {row[key]!r}")
        label = row["gold_label"].strip().lower() if isinstance(row["gold_label"], str) else row["gold_label"]
        if label == NO_CONSENSUS:
            if no_consensus == "error":
                raise CorpusFormatError(path, lineno, "gold_label '-' (no annotator consensus); drop the row or use option no_consensus=skip")
            skipped += 1
            continue
        if label not in MEDNLI_LABEL_TO_OUTPUT:
            raise CorpusFormatError(path, lineno, f"unknown gold_label {row['gold_label']!r}; expected entailment, contradiction or neutral")
        if pair_id in first_line:
            raise CorpusFormatError(path, lineno, f"duplicate pairID {pair_id!r} (first on line {first_line[pair_id]})")
        first_line[pair_id] = lineno
        yield {"id": pair_id, "sentence1": row["sentence1"], "sentence2": row["sentence2"], "gold_label": label}
    if skipped:
        log.warning("%s: skipped %d pair(s) with gold_label '-' (no annotator consensus, dropped as in SNLI)", path, skipped)
    if not first_line:
        what = f"only pairs without a gold label ({skipped})" if skipped else "no sentence pairs"
        raise CorpusFormatError(path, None, f"the file holds {what}")
