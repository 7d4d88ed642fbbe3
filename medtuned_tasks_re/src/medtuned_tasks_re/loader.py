"""Corpus readers for the real release formats, with file:line errors.

GAD (BioBERT 10-fold CV, ``GAD/<fold>/``): ``train.tsv`` has no header and two columns
``sentence<TAB>label``; ``test.tsv`` has the header ``index<TAB>sentence<TAB>label``. Labels are ``1``
(association) and ``0``. BioBERT reads these files with no quote handling, and so do we: a ``"`` in a
sentence is kept as it is.

i2b2-2010 (BLUE, ``i2b2-2010/{train,dev,test}.tsv``): header ``index<TAB>sentence<TAB>label``, written
by Python's ``csv.writer`` (a sentence holding a quote or tab is quoted), so it is read with ``csv``.
A concept pair with two relations has two rows with the same index; the second gets the id
``<index>#2``.

The one repair: blank lines at the very end of a file are ignored. Anything else that does not fit
the format (wrong column count, unknown label, a header where none belongs or none where one does,
an empty file, a duplicate GAD index, a blank line inside the data) raises :class:`CorpusFormatError`
naming the file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medtuned_core import CorpusFormatError, MedTunedError, MissingDataError
from medtuned_core.corpus import numbered_lines, split_file

from .tasks import GAD, GAD_FOLDS, GAD_LABEL_TO_OUTPUT, GAD_TASK, I2B2_2010, I2B2_2010_TASK, I2B2_LABEL_TO_OUTPUT

HEADER = ("index", "sentence", "label")
GAD_TRAIN_COLUMNS = ("sentence", "label")


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


def load_gad(data_dir: Path, split: str, options: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    """Examples of one GAD fold's ``split`` (``train`` or ``test``), in file order."""
    fold = gad_fold(options)
    folder = Path(data_dir) / GAD_TASK.data_folder / str(fold)
    if not folder.is_dir():
        raise MissingDataError(GAD, folder, f"Fold {fold} is missing. {GAD_TASK.how_to_obtain}")
    path = split_file(GAD, folder, split, ["{split}.tsv"])
    rows = read_gad_test(path) if split == "test" else read_gad_train(path)
    return ({**row, "fold": fold} for row in rows)


def load_i2b2_2010(data_dir: Path, split: str) -> Iterator[dict[str, Any]]:
    """Examples of one i2b2-2010 split (``validation`` reads ``dev.tsv``), in file order."""
    path = split_file(I2B2_2010, Path(data_dir) / I2B2_2010_TASK.data_folder, split, ["{split}.tsv"])
    return read_i2b2_2010(path)


def _data_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines without trailing blank lines; a blank line followed by data is an error."""
    blank_at = None
    seen_any = False
    for lineno, line in numbered_lines(path):
        if not line.strip():
            blank_at = blank_at or lineno
            continue
        if blank_at is not None:
            raise CorpusFormatError(path, blank_at, "blank line inside the data (only trailing blank lines are allowed)")
        seen_any = True
        yield lineno, line
    if not seen_any:
        raise CorpusFormatError(path, None, "the file is empty")


def _gad_label(path: Path, lineno: int, label: str) -> str:
    if label not in GAD_LABEL_TO_OUTPUT:
        raise CorpusFormatError(path, lineno, f"unknown label {label!r}; GAD labels are 1 (association) and 0 (none)")
    return label


def read_gad_train(path: Path) -> Iterator[dict[str, Any]]:
    """BioBERT GAD ``train.tsv``: no header, ``sentence<TAB>label``; ids are 0-based row numbers."""
    for n, (lineno, line) in enumerate(_data_lines(path)):
        cols = line.split("\t")
        if lineno == 1 and tuple(c.strip().lower() for c in cols) in (HEADER, GAD_TRAIN_COLUMNS):
            raise CorpusFormatError(path, lineno, "found a header line, but GAD train.tsv has none (BioBERT format: sentence<TAB>label)")
        if len(cols) != 2:
            raise CorpusFormatError(path, lineno, f"expected 2 tab-separated columns (sentence, label), found {len(cols)}")
        sentence, label = cols
        if not sentence.strip():
            raise CorpusFormatError(path, lineno, "empty sentence")
        yield {"id": str(n), "sentence": sentence, "label": _gad_label(path, lineno, label)}


def read_gad_test(path: Path) -> Iterator[dict[str, Any]]:
    """BioBERT GAD ``test.tsv``: header ``index sentence label``, three columns; ids are the index column."""
    seen: dict[str, int] = {}
    for lineno, line in _data_lines(path):
        cols = line.split("\t")
        if lineno == 1:
            _check_header(path, cols)
            continue
        if len(cols) != 3:
            raise CorpusFormatError(path, lineno, f"expected 3 tab-separated columns (index, sentence, label), found {len(cols)}")
        index, sentence, label = cols
        if not index.strip() or not sentence.strip():
            raise CorpusFormatError(path, lineno, "empty index or sentence")
        if index in seen:
            raise CorpusFormatError(path, lineno, f"duplicate index {index!r} (first on line {seen[index]})")
        seen[index] = lineno
        yield {"id": index, "sentence": sentence, "label": _gad_label(path, lineno, label)}
    if not seen:
        raise CorpusFormatError(path, 1, "a header but no data rows")


def _check_header(path: Path, cols: list[str]) -> None:
    if tuple(c.strip().lower() for c in cols) != HEADER:
        raise CorpusFormatError(path, 1, f"expected the header 'index<TAB>sentence<TAB>label', found {_preview(cols)}")


def read_i2b2_2010(path: Path) -> Iterator[dict[str, Any]]:
    """BLUE i2b2-2010 TSV; ids are the pair index, ``<index>#k`` for a pair's k-th relation row."""
    seen: dict[str, int] = {}
    for lineno, cols in _csv_rows(path):
        if lineno == 1:
            _check_header(path, cols)
            continue
        if len(cols) != 3:
            raise CorpusFormatError(path, lineno, f"expected 3 tab-separated columns (index, sentence, label), found {len(cols)}")
        index, sentence, label = cols
        if not index.strip() or not sentence.strip():
            raise CorpusFormatError(path, lineno, "empty index or sentence")
        if label not in I2B2_LABEL_TO_OUTPUT:
            raise CorpusFormatError(path, lineno, f"unknown label {label!r}; expected one of {', '.join(I2B2_LABEL_TO_OUTPUT)}")
        seen[index] = seen.get(index, 0) + 1
        example_id = index if seen[index] == 1 else f"{index}#{seen[index]}"
        yield {"id": example_id, "index": index, "sentence": sentence, "label": label}
    if not seen:
        raise CorpusFormatError(path, 1, "a header but no data rows")


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, cells)`` of a csv-quoted TSV; same blank-line and empty-file rules as :func:`_data_lines`."""
    blank_at = None
    seen_any = False
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quotechar='"', strict=True)
        lineno = 0
        try:
            for cols in reader:
                lineno = reader.line_num
                if not any(c.strip() for c in cols):
                    blank_at = blank_at or lineno
                    continue
                if blank_at is not None:
                    raise CorpusFormatError(path, blank_at, "blank line inside the data (only trailing blank lines are allowed)")
                seen_any = True
                yield lineno, cols
        except csv.Error as exc:
            raise CorpusFormatError(path, reader.line_num or lineno or 1, f"bad TSV quoting ({exc})") from None
    if not seen_any:
        raise CorpusFormatError(path, None, "the file is empty")


def _preview(cols: Iterable[str]) -> str:
    text = "\t".join(cols)
    return repr(text if len(text) <= 80 else text[:77] + "...")
