"""Reading HoC in BigBio's ``bigbio_text`` JSONL: one sentence per line, labels per sentence.

``{"id": "1", "document_id": "<PMID>_<sentence index>", "text": "...", "labels": ["none"]}``. The
example id is the ``document_id`` (unique in a split, and it carries the abstract's PMID, which
the document-level scorer needs); the row's own ``id`` is kept as ``row_id``. Label order is
kept: the output joins labels in the record's order. Any bad row raises
:class:`CorpusFormatError` with the file and line; nothing is repaired.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medtuned_core.corpus import split_file
from medtuned_core.errors import CorpusFormatError
from medtuned_core.jsonl import read_jsonl

from .labels import CORPUS_LABELS, NONE

FILE_PATTERNS = ("{split}.jsonl",)
FIELDS = ("id", "document_id", "text", "labels")
DOCUMENT_ID = re.compile(r"^(?P<document>.+)_(?P<sentence>\d+)$")


def hoc_file(task: str, folder: Path, split: str) -> Path:
    """The split's file under ``folder`` (``validation`` also accepts ``valid``/``dev``/``devel``)."""
    return split_file(task, folder, split, FILE_PATTERNS)


def document_of(sentence_id: str) -> str:
    """The abstract a ``<PMID>_<i>`` sentence id belongs to (an id without a sentence part is its own document)."""
    match = DOCUMENT_ID.match(sentence_id)
    return match.group("document") if match else sentence_id


def read_hoc(path: Path) -> Iterator[dict[str, Any]]:
    """Examples ``{"id", "row_id", "document_id", "text", "labels"}`` in file order."""
    first_line: dict[str, int] = {}
    for lineno, obj in read_jsonl(path):
        missing = [k for k in FIELDS if k not in obj]
        if missing:
            raise CorpusFormatError(path, lineno, f"missing field(s) {', '.join(map(repr, missing))}; HoC rows need {', '.join(FIELDS)}")
        row_id = str(obj["id"]) if isinstance(obj["id"], int) and not isinstance(obj["id"], bool) else obj["id"]
        if not isinstance(row_id, str) or not row_id:
            raise CorpusFormatError(path, lineno, f"id must be a non-empty string, got {obj['id']!r}")
        document_id = obj["document_id"]
        if not isinstance(document_id, str) or not DOCUMENT_ID.match(document_id):
            raise CorpusFormatError(path, lineno, f"document_id must look like '<PMID>_<sentence index>', got {document_id!r}")
        if document_id in first_line:
            raise CorpusFormatError(path, lineno, f"duplicate document_id {document_id!r} (first on line {first_line[document_id]})")
        if not isinstance(obj["text"], str) or not obj["text"].strip():
            raise CorpusFormatError(path, lineno, f"text must be a non-empty string, got {obj['text']!r}")
        labels = _checked_labels(path, lineno, obj["labels"])
        first_line[document_id] = lineno
        yield {"id": document_id, "row_id": row_id, "document_id": document_id, "text": obj["text"], "labels": labels}
    if not first_line:
        raise CorpusFormatError(path, None, "the file holds no sentences")


def _checked_labels(path: Path, lineno: int, labels: Any) -> list[str]:
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise CorpusFormatError(path, lineno, f"labels must be a list of strings, got {labels!r}")
    unknown = [label for label in labels if label not in CORPUS_LABELS]
    if unknown:
        raise CorpusFormatError(path, lineno, f"unknown label(s) {', '.join(map(repr, unknown))}; expected among {', '.join(CORPUS_LABELS)}")
    if len(set(labels)) != len(labels):
        raise CorpusFormatError(path, lineno, f"a label is repeated: {labels!r}")
    if NONE in labels and len(labels) > 1:
        raise CorpusFormatError(path, lineno, f"'none' cannot be combined with other labels: {labels!r}")
    return list(labels)
