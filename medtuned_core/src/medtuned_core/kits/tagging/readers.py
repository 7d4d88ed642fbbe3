"""Reading tagged corpora: column files (TSV, whitespace CoNLL), JSONL and ``datasets.save_to_disk`` folders.

Every reader returns examples ``{"id", "tokens", "tags", "line"}`` in corpus order; all file access goes
through :mod:`medtuned_core.io`. Malformed input raises :class:`CorpusFormatError` naming the file and line
(or record). A few quirks are repaired instead of rejected because real preprocessed releases contain them;
each repair is counted and reported once per file as a :class:`CorpusRepairWarning` (``options["repair"] =
False`` turns every repair into an error):

* a line of only spaces/tabs is read as a sentence break;
* spaces around a tab-separated field are stripped;
* a typed tag (``B-Disease``) in an untyped task is collapsed to its prefix (``B``);
* IOB2 only: an ``I`` tag that starts an entity (after ``O``, at sentence start, or after another type)
  becomes ``B`` (sentences split for length by bio-lm's ``clean_conll_file.py`` start mid-entity);
* a JSONL/datasets record with no tokens is skipped.

Column files: one token per line, a blank line between sentences; ``-DOCSTART-`` lines (CoNLL-2003) are
document breaks and skipped, lines starting with the ``comment`` prefix are skipped.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...corpus import SPLIT_ALIASES, MissingSplitError
from ...errors import CorpusFormatError
from ...io import check_file, excerpt, read_datasets_folder, read_json, read_jsonl, read_text
from ..records import import_function
from .scheme import TagScheme

JSONL_PATTERNS = ("{split}.jsonl",)
DOCSTART = "-DOCSTART-"
# Tag fields tried in order when a JSONL/datasets source does not name one (nlpie's HF copies use ner_tags_str).
TAG_FIELDS = ("tags", "ner_tags_str", "ner_tags", "labels")
# Whitespace other than the format's own newline, tab and space (NBSP, thin space, a lone CR...).
_ODD_SPACE = re.compile(r"[^\S\n\t ]")


@dataclass(frozen=True)
class ColumnLayout:
    """How a task's column files look: file-name patterns per split, separator, columns and markers."""

    patterns: tuple[str, ...] = ("{split}.tsv", "{split}.conll", "{split}.txt")
    split_files: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (split, file names) instead of patterns
    separator: str | None = "\t"  # None: any run of spaces/tabs (CoNLL)
    columns: int = 2  # every token line has exactly this many columns
    token_column: int = 0
    tag_column: int = -1
    docstart: bool = True  # skip -DOCSTART- lines (a document break)
    comment: str = ""  # skip lines starting with this prefix ("" = none: "#" is a real token in corpora)
    encoding: str = "utf-8"
    tokens_field: str = "tokens"  # JSONL and datasets records
    tags_field: str = ""  # "" = the first of TAG_FIELDS holding string (or label-mapped) tags

    @property
    def plain(self) -> bool:
        """Two tab-separated columns, token then tag, no markers: the whole-file fast path applies."""
        return self.separator == "\t" and self.columns == 2 and self.token_column == 0 and self.tag_column in (1, -1) and not self.comment


class CorpusRepairWarning(UserWarning):
    """A corpus quirk was repaired while reading; the message names the file, the repair and how often."""


@dataclass
class Repairs:
    """Counts of each repair made in one source, with the first place it happened."""

    path: Path
    allowed: bool
    unit: str = "line"
    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, int | None] = field(default_factory=dict)

    def add(self, kind: str, line: int | None) -> None:
        if not self.allowed:
            raise CorpusFormatError(self.path, line, f"{kind} (set option repair=true to repair such quirks)", unit=self.unit)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.first.setdefault(kind, line)

    def report(self) -> None:
        for kind, n in self.counts.items():
            where = f", first at {self.unit} {self.first[kind]}" if self.first[kind] is not None else ""
            warnings.warn(CorpusRepairWarning(f"{self.path}: repaired {n} × {kind}{where}"), stacklevel=3)


class TagChecker:
    """Validates one sentence's tokens and tags for a task and applies the documented repairs."""

    def __init__(self, scheme: TagScheme, path: Path, repairs: Repairs):
        self.path, self.repairs, self.unit = path, repairs, repairs.unit
        self.typed = scheme.typed
        self.prefixes = scheme.prefixes
        self.repair_i_start = scheme.name == "iob2"
        self.allowed = frozenset(scheme.labels)
        text = ", ".join(scheme.labels)
        self.allowed_text = text if len(text) <= 200 else text[:200] + "…"

    def fail(self, line: int | None, message: str) -> CorpusFormatError:
        return CorpusFormatError(self.path, line, message, unit=self.unit)

    def check(self, tokens: list[str], tags: list[str], line_of: Callable[[int], int | None]) -> list[str]:
        """The sentence's tags, repaired where allowed; raises on anything else."""
        if len(tokens) != len(tags):
            raise self.fail(line_of(0), f"{len(tokens)} tokens but {len(tags)} tags")
        out = list(tags)
        prev = "O"
        for k, (token, tag) in enumerate(zip(tokens, tags, strict=True)):
            if not isinstance(token, str) or not token:
                raise self.fail(line_of(k), f"empty token (token {k + 1} of the sentence)")
            if not token.strip() or len(token.split()) != 1:
                raise self.fail(line_of(k), f"token {token!r} contains whitespace; tokens are joined by single spaces in the rendered input")
            if not isinstance(tag, str):
                raise self.fail(line_of(k), f"tag {tag!r} is not a string")
            if tag not in self.allowed:
                tag = self._collapse_typed(tag, line_of(k))
            if self.repair_i_start and tag[0] == "I" and not (prev[0] in "BI" and prev[1:] == tag[1:]):
                self.repairs.add("I tag starting an entity changed to B", line_of(k))
                tag = "B" + tag[1:]
            out[k] = prev = tag
        return out

    def _collapse_typed(self, tag: str, line: int | None) -> str:
        head, sep, kind = tag.partition("-")
        if not self.typed and sep and kind.strip() and head in self.prefixes:
            self.repairs.add(f"typed tag collapsed to untyped {'/'.join(self.prefixes)}", line)
            return head
        raise self.fail(line, f"unknown tag {excerpt(tag)}; expected one of {self.allowed_text}")


# -- native files (BioBERT TSV, CoNLL) -----------------------------------------------------------------


def _fast_tsv(text: str, allowed: frozenset[str], check_i_start: bool) -> list[tuple[list[str], list[str], int]] | None:
    """Whole-file parse of a clean BioBERT TSV with C-level string operations; None at the first anomaly.

    Real files are clean, so this path reads them ~10× faster than the line loop; any file it declines
    goes through :func:`_slow_tagged`, which gives exact line numbers and repairs.
    """
    if " " in text or "\n\n\n" in text or text.startswith("\n") or _ODD_SPACE.search(text):
        return None  # whitespace in a field, or several blank lines: the careful path handles it
    out = []
    line = 1
    for block in text.split("\n\n"):
        if not block:
            continue
        n_lines = block.count("\n") + 1
        if block.endswith("\n"):
            n_lines -= 1
            block = block[:-1]
        parts = block.replace("\n", "\t").split("\t")
        if len(parts) != 2 * n_lines:
            return None
        tokens, tags = parts[0::2], parts[1::2]
        if "" in tokens or not allowed.issuperset(tags):
            return None
        if check_i_start:
            joined = "".join(tags)
            if joined[0] == "I" or "OI" in joined:
                return None
        out.append((tokens, tags, line))
        line += n_lines + 1
    return out


def _slow_tagged(path: Path, text: str, layout: ColumnLayout, checker: TagChecker, repairs: Repairs) -> list[tuple[list[str], list[str], int]]:
    out = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 1

    def flush() -> None:
        if tokens:
            fixed = checker.check(tokens, tags, lambda k, s=start: s + k)
            out.append((list(tokens), fixed, start))
            tokens.clear()
            tags.clear()

    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            if line:
                repairs.add("whitespace-only line read as a sentence break", lineno)
            flush()
            continue
        if layout.comment and line.startswith(layout.comment):
            continue
        if layout.separator is None:
            cols = line.split()
        else:
            cols = line.split(layout.separator)
            if len(cols) == layout.columns and any(c != c.strip() for c in cols):
                repairs.add("spaces around a field stripped", lineno)
                cols = [c.strip() for c in cols]
        if layout.docstart and cols[0] == DOCSTART:
            flush()  # a document break
            continue
        if len(cols) != layout.columns:
            sep = "<TAB>" if layout.separator == "\t" else "<SPACE>"
            shape = (
                f"'token{sep}tag'"
                if layout.columns == 2
                else f"(token in column {layout.token_column + 1}, tag in column {layout.tag_column % layout.columns + 1})"
            )
            raise CorpusFormatError(path, lineno, f"expected {layout.columns} columns {shape}, found {len(cols)}: {excerpt(line)}")
        if not tokens:
            start = lineno
        tokens.append(cols[layout.token_column])
        tags.append(cols[layout.tag_column])
    flush()
    return out


def read_column_file(path: Path, scheme: TagScheme, layout: ColumnLayout, repair: bool = True) -> list[dict[str, Any]]:
    """All sentences of a column file (BioBERT TSV, CoNLL) as examples."""
    repairs = Repairs(path, repair)
    checker = TagChecker(scheme, path, repairs)
    text = read_text(path, layout.encoding)
    check_i_start = checker.repair_i_start
    fast = layout.plain and not (check_i_start and checker.typed) and not (layout.docstart and DOCSTART in text)
    sentences = _fast_tsv(text, checker.allowed, check_i_start) if fast else None
    if sentences is None:
        sentences = _slow_tagged(path, text, layout, checker, repairs)
    repairs.report()
    return [{"id": str(i), "tokens": tokens, "tags": tags, "line": line} for i, (tokens, tags, line) in enumerate(sentences)]


# -- JSONL and datasets folders --------------------------------------------------------------------------


def _pick_tag_field(record: dict[str, Any], wanted: str | None, mapped: Iterable[str]) -> str | None:
    """The record's tag field: the one asked for, else the first known name holding string (or label-mapped) tags."""
    if wanted:
        return wanted if wanted in record else None
    for name in TAG_FIELDS:
        value = record.get(name)
        if isinstance(value, list) and (name in mapped or not value or isinstance(value[0], str)):
            return name
    return None


def _records_to_examples(
    scheme: TagScheme,
    path: Path,
    records: Iterable[tuple[int, dict[str, Any]]],
    unit: str,
    layout: ColumnLayout,
    repair: bool,
    int_names: dict[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    repairs = Repairs(path, repair, unit=unit)
    checker = TagChecker(scheme, path, repairs)
    tokens_field, tags_field = layout.tokens_field, layout.tags_field or None
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for where, record in records:
        tokens = record.get(tokens_field)
        if not isinstance(tokens, list):
            raise CorpusFormatError(path, where, f"missing list field {tokens_field!r}", unit=unit)
        name = _pick_tag_field(record, tags_field, (int_names or {}).keys())
        if name is None:
            tried = tags_field or ", ".join(TAG_FIELDS)
            raise CorpusFormatError(path, where, f"no list of string tags (looked for: {tried}); set option tags_field=NAME", unit=unit)
        tags = record[name]
        if not isinstance(tags, list):
            raise CorpusFormatError(path, where, f"field {name!r} must be a list of tags", unit=unit)
        if tags and not isinstance(tags[0], str):
            names = (int_names or {}).get(name)
            if names is None:
                raise CorpusFormatError(path, where, f"field {name!r} holds {type(tags[0]).__name__} tags without a label map; give string tags", unit=unit)
            tags = [names[t] if isinstance(t, int) and 0 <= t < len(names) else t for t in tags]
        if not tokens:
            repairs.add("record with no tokens skipped", where)
            continue
        fixed = checker.check(list(tokens), list(tags), lambda k, w=where: w)
        example_id = str(record["id"]) if record.get("id") is not None else str(len(out))
        if example_id in seen:
            raise CorpusFormatError(path, where, f"duplicate id {excerpt(example_id)}", unit=unit)
        seen.add(example_id)
        out.append({"id": example_id, "tokens": list(tokens), "tags": fixed, "line": where})
    repairs.report()
    return out


def read_jsonl_tagged(path: Path, scheme: TagScheme, layout: ColumnLayout = ColumnLayout(), repair: bool = True) -> list[dict[str, Any]]:
    """Examples from JSONL records holding a token list and a list of string tags."""
    return _records_to_examples(scheme, path, read_jsonl(path, layout.encoding), "line", layout, repair)


def read_datasets_tagged(
    path: Path, split_name: str | None, scheme: TagScheme, layout: ColumnLayout = ColumnLayout(), repair: bool = True
) -> list[dict[str, Any]]:
    """Examples from a ``datasets`` ``save_to_disk`` folder (a DatasetDict and its split, or one Dataset);
    integer tags of a ``ClassLabel`` column are read through its names."""
    rows, int_names = read_datasets_folder(path, split_name, extra="medtuned-core[datasets]")
    records = ((i + 1, row) for i, row in enumerate(rows))
    return _records_to_examples(scheme, path if split_name is None else path / split_name, records, "record", layout, repair, int_names)


def read_function_tagged(function: str, folder: Path, split: str, scheme: TagScheme, layout: ColumnLayout, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The python reader: ``function(folder, split, options)`` (a ``"package.module:function"``) gives the examples,
    checked like records of a JSONL file (numbered by position)."""
    read = import_function(function, lambda message: CorpusFormatError(folder, None, message))
    records = list(enumerate(read(folder, split, options), 1))
    for k, example in records:
        if not isinstance(example, dict):
            raise CorpusFormatError(folder, k, f"{function} gave {type(example).__name__}, not an example dict", unit="record")
    return _records_to_examples(scheme, folder, records, "record", layout, bool(options.get("repair", True)))


# -- finding a split -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    kind: str  # "conll", "jsonl" or "datasets"
    path: Path
    split_name: str | None = None  # the split inside a DatasetDict folder


def find_source(task: str, folder: Path, split: str, layout: ColumnLayout, reader: str = "conll") -> Source:
    """Where ``split`` lives, tried per split alias: the declared reader's files first (column files by
    ``layout.patterns``, or ``{split}.jsonl``), then a JSONL file, then a datasets folder (converted copies of
    a corpus come in those forms)."""
    aliases = SPLIT_ALIASES.get(split, (split,))
    tried: list[str] = []
    own = tuple(name.replace("{", "{{").replace("}", "}}") for name in dict(layout.split_files).get(split, ())) or layout.patterns
    kinds = {"conll": (("conll", own), ("jsonl", JSONL_PATTERNS)), "jsonl": (("jsonl", own),), "datasets": ()}[reader]
    for kind, patterns in kinds:
        for alias in aliases:
            for pattern in patterns:
                path = folder / pattern.format(split=alias)
                if path.exists():
                    return Source(kind, check_file(path))  # a folder of that name is an error, not a miss
                tried.append(path.name)
    dict_file = folder / "dataset_dict.json"
    if dict_file.is_file():
        described = read_json(dict_file)
        splits = described.get("splits") if isinstance(described, dict) else None
        if not isinstance(splits, list):
            raise CorpusFormatError(dict_file, None, "not a datasets DatasetDict description (no list of splits)")
        for alias in aliases:
            if alias in splits:
                return Source("datasets", folder, alias)
        tried.append(f"{dict_file.name} splits {'/'.join(aliases)}")
    for alias in aliases:
        if (folder / alias / "state.json").is_file():
            return Source("datasets", folder / alias)
        tried.append(f"{alias}/ (datasets folder)")
    raise MissingSplitError(task, folder / tried[0], f"No data for split {split!r}; looked for: {', '.join(tried)}.")


def load_split(task: str, folder: Path, split: str, scheme: TagScheme, layout: ColumnLayout, reader: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The examples of one split, from whichever supported source holds it (options: ``repair``, ``tags_field``)."""
    repair = bool(options.get("repair", True))
    if options.get("tags_field"):
        layout = replace(layout, tags_field=str(options["tags_field"]))
    source = find_source(task, folder, split, layout, reader)
    if source.kind == "conll":
        examples = read_column_file(source.path, scheme, layout, repair)
    elif source.kind == "jsonl":
        examples = read_jsonl_tagged(source.path, scheme, layout, repair)
    else:
        examples = read_datasets_tagged(source.path, source.split_name, scheme, layout, repair)
    if not examples:  # an empty (or blank) split file is damage, not a split without sentences
        raise CorpusFormatError(source.path, None, "holds no sentences (the file is empty)")
    return examples
