"""Published figures shown beside ours: the study's tables (``reference_results.json``) and a user's own file.

A reference file holds tables as the paper prints them, each with its own columns::

    {"citation": "...", "scored_by": "how these figures were obtained",
     "study_names": {"ncbi-disease": "NCBI-Disease"},
     "tables": [{"name": "Table 2", "title": "...", "columns": ["BioBERT", ...],
                 "rows": {"ncbi-disease": [88.62, ...]}}]}

Values are percentages (``null`` where a table has no figure). A column named in several tables of one
file (a model evaluated in two tables) is one column; its figures must agree where the tables overlap.
A user's file (``--reference FILE``) adds its columns to the shipped ones. Reports show only the columns
that have a figure for the tasks on show, each marked with its source's footnote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import CorpusFormatError
from ..io import read_json

SHIPPED = "reference_results.json"
MARKS = ("†", "‡", "§", "¶")


@dataclass
class Column:
    label: str
    source: int  # index into References.sources
    values: dict[str, float] = field(default_factory=dict)  # task -> percent
    table_of: dict[str, str] = field(default_factory=dict)  # task -> the table its figure comes from
    tables: list[str] = field(default_factory=list)


@dataclass
class Source:
    where: str  # the file, for messages and footnotes
    citation: str
    scored_by: str
    tables: list[tuple[str, str]]  # (name, title)


@dataclass
class References:
    columns: list[Column] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    study_names: dict[str, str] = field(default_factory=dict)

    def shown(self, tasks: Iterable[str]) -> list[Column]:
        """The columns with a figure for at least one of ``tasks``, in file order."""
        wanted = set(tasks)
        return [c for c in self.columns if wanted & c.values.keys()]

    def header(self, column: Column) -> str:
        return f"{column.label} {MARKS[column.source % len(MARKS)]}"

    def study_name(self, task: str) -> str:
        return self.study_names.get(task, task)

    @staticmethod
    def cells(columns: Iterable[Column], task: str) -> list[str]:
        """One task's row: each column's figure, or a dash."""
        return [f"{c.values[task]:.2f}" if task in c.values else "—" for c in columns]

    def series(self, tasks: list[str]) -> list[tuple[str, list[float]]]:
        """``(header, values)`` of each shown column for a bar chart (NaN where it has no figure)."""
        return [(self.header(c), [c.values.get(t, float("nan")) for t in tasks]) for c in self.shown(tasks)]

    def to_json(self, columns: Iterable[Column]) -> list[dict[str, Any]]:
        return [{"label": c.label, "source": self.sources[c.source].citation, "tables": c.tables, "values": c.values} for c in columns]

    def footnotes(self, tasks: Iterable[str]) -> list[str]:
        """One paragraph per source with a figure for ``tasks``: its citation, the tables and columns those
        figures come from, and how the source scored them."""
        wanted = list(tasks)
        lines = []
        for index, source in enumerate(self.sources):
            used = [
                (name, title, [c.label for c in self.shown(wanted) if c.source == index and name in {c.table_of[t] for t in wanted if t in c.values}])
                for name, title in source.tables
            ]
            parts = "; ".join(f"{name}{f' ({title})' if title else ''}: {', '.join(labels)}" for name, title, labels in used if labels)
            if parts:
                lines.append(f"{MARKS[index % len(MARKS)]} Figures cited from {source.citation}, not re-run here. {parts}. {source.scored_by}".strip())
        return lines

    def add(self, data: Any, where: str) -> References:
        """Add one reference file's tables (already parsed JSON); ``where`` names it in errors."""
        if not isinstance(data, dict) or not isinstance(data.get("tables"), list):
            raise CorpusFormatError(where, None, "expected {'citation', 'scored_by', 'study_names': {...}, 'tables': [{'name', 'columns', 'rows'}]}")
        index = len(self.sources)
        source = Source(where, str(data.get("citation") or where), str(data.get("scored_by") or ""), [])
        taken = {c.label for c in self.columns}
        mine: dict[str, Column] = {}
        for number, table in enumerate(data["tables"], 1):
            name, columns, rows = _table(table, where, number)
            source.tables.append((name, str(table.get("title") or "")))
            for label in columns:
                if label in taken:
                    raise CorpusFormatError(where, None, f"{name}: column {label!r} is already given by {self._giver(label)}; rename it")
                mine.setdefault(label, Column(label, index)).tables.append(name)
            for task, values in rows.items():
                for label, value in zip(columns, values, strict=True):
                    if value is None:
                        continue
                    column = mine[label]
                    known = column.values.setdefault(task, float(value))
                    column.table_of.setdefault(task, name)
                    if known != float(value):
                        raise CorpusFormatError(where, None, f"{name}: column {label!r} gives {task} {value}, {column.table_of[task]} gives {known}")
        names = data.get("study_names") or {}
        if not isinstance(names, dict):
            raise CorpusFormatError(where, None, "'study_names' must map task names to the names the source uses")
        self.sources.append(source)
        self.columns += mine.values()
        self.study_names = {**self.study_names, **{str(k): str(v) for k, v in names.items()}}
        return self

    def _giver(self, label: str) -> str:
        return next(self.sources[c.source].where for c in self.columns if c.label == label)


def _table(table: Any, where: str, number: int) -> tuple[str, list[str], dict[str, list[Any]]]:
    """A table's name, column labels and rows, checked."""
    if not isinstance(table, dict):
        raise CorpusFormatError(where, None, f"table {number} must be an object with 'name', 'columns' and 'rows'")
    name = str(table.get("name") or f"table {number}")
    columns, rows = table.get("columns"), table.get("rows")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, str) and c for c in columns) or len(set(columns)) != len(columns):
        raise CorpusFormatError(where, None, f"{name}: 'columns' must be a list of distinct names")
    if not isinstance(rows, dict):
        raise CorpusFormatError(where, None, f"{name}: 'rows' must map task names to one figure per column")
    for task, values in rows.items():
        ok = isinstance(values, list) and len(values) == len(columns)
        if not ok or not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
            raise CorpusFormatError(where, None, f"{name}: row {task!r} must hold {len(columns)} numbers (percent) or nulls")
    return name, columns, rows


def _read(path: Path | None) -> tuple[Any, str]:
    if path:  # a user's file: through the I/O layer (one-line errors for a missing, unreadable or non-UTF-8 file)
        return read_json(path), str(path)
    try:
        return json.loads(resources.files(__package__).joinpath(SHIPPED).read_text(encoding="utf-8")), SHIPPED
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(SHIPPED, exc.lineno, f"invalid JSON ({exc.msg})") from None


def load_reference(path: str | Path | None = None) -> References:
    """The study's published figures (shipped with MedTuned), plus the columns of a user's file of the same shape."""
    refs = References().add(*_read(None))
    if path:
        refs.add(*_read(Path(path)))
    return refs
