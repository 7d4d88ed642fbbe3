"""Readers of the real release formats (the labels kit's ``python`` reader calls them), with file:line errors.

GAD (BioBERT 10-fold CV, ``GAD/<fold>/``): ``train.tsv`` has no header and two columns
``sentence<TAB>label``; ``test.tsv`` has the header ``index<TAB>sentence<TAB>label``. Labels are ``1``
(association) and ``0``. BioBERT reads these files with no quote handling, and so do we: a ``"`` in a
sentence is kept as it is.

i2b2-2010 (BLUE, ``i2b2-2010/{train,dev,test}.tsv``): header ``index<TAB>sentence<TAB>label``, written
by Python's ``csv.writer`` (a sentence holding a quote or tab is quoted), so it is read with CSV quoting.
A concept pair with two relations has two rows with the same index; the second gets the id ``<index>#2``.

The one repair: blank lines at the very end of a file are ignored. Anything else that does not fit
the format (wrong column count, unknown label, a header where none belongs or none where one does,
an empty file, a duplicate GAD index, a blank line inside the data) raises :class:`CorpusFormatError`
naming the file and line. Files are read through :mod:`medtuned_core.io`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medtuned_core import CorpusFormatError, MedTunedError, MissingDataError
from medtuned_core.corpus import split_file
from medtuned_core.io import excerpt, read_rows

from .tasks import GAD, GAD_FOLDS, GAD_TASK, I2B2_2010, SPECS

HEADER = ("index", "sentence", "label")
GAD_TRAIN_COLUMNS = ("sentence", "label")
LABELS = {spec.name: spec.config.values for spec in SPECS}  # corpus label -> output, per task


class TaskOptionError(MedTunedError, ValueError):
    """A task option (``--option key=value``) has a value the task cannot use."""


def gad_fold(options: dict[str, Any] | None) -> int:
    """The GAD fold from the task options: an int (or a string of digits) in 1..10."""
    raw = (options or {}).get("fold", GAD_TASK.options["fold"])
    fold = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if isinstance(raw, str) and raw.strip().isdigit():
        fold = int(raw.strip())
    if fold not in GAD_FOLDS:
        raise TaskOptionError(f"task {GAD!r}: option fold={raw!r} must be one of {GAD_FOLDS[0]}..{GAD_FOLDS[-1]} (BioBERT's 10-fold split)")
    return fold


def load_gad(folder: Path, split: str, options: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Examples of one GAD fold's ``split`` (``train`` or ``test``), in file order."""
    fold = gad_fold(options)
    fold_dir = Path(folder) / str(fold)
    if not fold_dir.is_dir():
        raise MissingDataError(GAD, fold_dir, f"Fold {fold} is missing. {GAD_TASK.how_to_obtain}")
    path = split_file(GAD, fold_dir, split, ["{split}.tsv"])
    rows = read_gad_test(path) if split == "test" else read_gad_train(path)
    return ({**row, "fold": fold} for row in rows)


def load_i2b2_2010(folder: Path, split: str, options: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Examples of one i2b2-2010 split (``validation`` reads ``dev.tsv``), in file order."""
    return read_i2b2_2010(split_file(I2B2_2010, Path(folder), split, ["{split}.tsv"]))


def _data_rows(path: Path, quoting: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Numbered rows without trailing blank lines; a blank line followed by data, or an empty file, is an error."""
    blank_at = None
    seen_any = False
    for lineno, cols in read_rows(path, "\t", quoting=quoting, skip_blank=False):
        if not cols:
            blank_at = blank_at or lineno
            continue
        if blank_at is not None:
            raise CorpusFormatError(path, blank_at, "blank line inside the data (only trailing blank lines are allowed)")
        seen_any = True
        yield lineno, cols
    if not seen_any:
        raise CorpusFormatError(path, None, "the file is empty")


def _label(task: str, path: Path, lineno: int, label: str) -> str:
    if label not in LABELS[task]:
        raise CorpusFormatError(path, lineno, f"unknown label {label!r}; expected one of {', '.join(LABELS[task])}")
    return label


def read_gad_train(path: Path) -> Iterator[dict[str, Any]]:
    """BioBERT GAD ``train.tsv``: no header, ``sentence<TAB>label``; ids are 0-based row numbers."""
    for n, (lineno, cols) in enumerate(_data_rows(path)):
        if lineno == 1 and tuple(c.strip().lower() for c in cols) in (HEADER, GAD_TRAIN_COLUMNS):
            raise CorpusFormatError(path, lineno, "found a header line, but GAD train.tsv has none (BioBERT format: sentence<TAB>label)")
        if len(cols) != 2:
            raise CorpusFormatError(path, lineno, f"expected 2 tab-separated columns (sentence, label), found {len(cols)}")
        sentence, label = cols
        if not sentence.strip():
            raise CorpusFormatError(path, lineno, "empty sentence")
        yield {"id": str(n), "sentence": sentence, "label": _label(GAD, path, lineno, label)}


def _indexed(task: str, path: Path, rows: Iterable[tuple[int, list[str]]]) -> Iterator[tuple[int, str, str, str]]:
    """``(line, index, sentence, label)`` of a file with the header ``index sentence label``."""
    seen = False
    for lineno, cols in rows:
        if lineno == 1:
            if tuple(c.strip().lower() for c in cols) != HEADER:
                raise CorpusFormatError(path, 1, f"expected the header 'index<TAB>sentence<TAB>label', found {excerpt(chr(9).join(cols))}")
            continue
        if len(cols) != 3:
            raise CorpusFormatError(path, lineno, f"expected 3 tab-separated columns (index, sentence, label), found {len(cols)}")
        index, sentence, label = cols
        if not index.strip() or not sentence.strip():
            raise CorpusFormatError(path, lineno, "empty index or sentence")
        seen = True
        yield lineno, index, sentence, _label(task, path, lineno, label)
    if not seen:
        raise CorpusFormatError(path, 1, "a header but no data rows")


def read_gad_test(path: Path) -> Iterator[dict[str, Any]]:
    """BioBERT GAD ``test.tsv``: header ``index sentence label``, three columns; ids are the index column."""
    first: dict[str, int] = {}
    for lineno, index, sentence, label in _indexed(GAD, path, _data_rows(path)):
        if index in first:
            raise CorpusFormatError(path, lineno, f"duplicate index {index!r} (first on line {first[index]})")
        first[index] = lineno
        yield {"id": index, "sentence": sentence, "label": label}


def read_i2b2_2010(path: Path) -> Iterator[dict[str, Any]]:
    """BLUE i2b2-2010 TSV; ids are the pair index, ``<index>#k`` for a pair's k-th relation row."""
    seen: dict[str, int] = {}
    for _, index, sentence, label in _indexed(I2B2_2010, path, _data_rows(path, quoting=True)):
        seen[index] = seen.get(index, 0) + 1
        yield {"id": index if seen[index] == 1 else f"{index}#{seen[index]}", "index": index, "sentence": sentence, "label": label}
