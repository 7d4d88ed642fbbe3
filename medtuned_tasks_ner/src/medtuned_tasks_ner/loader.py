"""Reading NER corpora: BioBERT TSV, space-separated CoNLL, JSONL and ``datasets.save_to_disk`` folders.

Every reader yields examples ``{"id", "tokens", "tags", "line"}`` in corpus order. Malformed input raises
:class:`CorpusFormatError` naming the file and line (or record). A few quirks are repaired instead of
rejected because real preprocessed releases contain them; each repair is counted and reported once per
file as a :class:`CorpusRepairWarning` (``options["repair"] = False`` turns every repair into an error):

* a line of only spaces/tabs is read as a sentence break;
* spaces around a tab-separated field are stripped;
* a typed tag (``B-Disease``) in an untyped task is collapsed to ``B``/``I``;
* an ``I`` tag that starts an entity (after ``O``, at sentence start, or after another type) becomes ``B``
  (sentences split for length by bio-lm's ``clean_conll_file.py`` start mid-entity);
* a JSONL/datasets record with no tokens is skipped.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medtuned_core.corpus import SPLIT_ALIASES, MissingSplitError
from medtuned_core.errors import CorpusFormatError
from medtuned_core.jsonl import read_jsonl
from medtuned_core.types import TaskInfo

from .tasks import LAYOUTS, Layout, is_typed, tag_set

JSONL_PATTERNS = ("{split}.jsonl",)
# Tag fields tried in order when a JSONL/datasets source does not name one (nlpie's HF copies use ner_tags_str).
TAG_FIELDS = ("tags", "ner_tags_str", "ner_tags", "labels")
# Whitespace other than the format's own newline, tab and space (NBSP, thin space, a lone CR...).
_ODD_SPACE = re.compile(r"[^\S\n\t ]")


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

    def __init__(self, task: TaskInfo, path: Path, repairs: Repairs):
        self.path, self.repairs, self.unit = path, repairs, repairs.unit
        self.typed = is_typed(task)
        self.allowed = frozenset(tag_set(task))
        self.allowed_text = ", ".join(tag_set(task))

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
            if tag[0] == "I" and not (prev[0] in "BI" and prev[1:] == tag[1:]):
                self.repairs.add("I tag starting an entity changed to B", line_of(k))
                tag = "B" + tag[1:]
            out[k] = prev = tag
        return out

    def _collapse_typed(self, tag: str, line: int | None) -> str:
        head, sep, kind = tag.partition("-")
        if not self.typed and sep and kind.strip() and head in ("B", "I"):
            self.repairs.add("typed tag collapsed to untyped B/I", line)
            return head
        raise self.fail(line, f"unknown tag {tag!r}; expected one of {self.allowed_text}")


# -- native files (BioBERT TSV, CoNLL) -----------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not UTF-8 ({exc.reason})") from None
    return text.replace("\r\n", "\n") if "\r" in text else text


def _fast_tsv(text: str, allowed: frozenset[str], untyped: bool) -> list[tuple[list[str], list[str], int]] | None:
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
        if untyped:
            joined = "".join(tags)
            if joined[0] == "I" or "OI" in joined:
                return None
        out.append((tokens, tags, line))
        line += n_lines + 1
    return out


def _slow_tagged(path: Path, text: str, layout: Layout, checker: TagChecker, repairs: Repairs) -> list[tuple[list[str], list[str], int]]:
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
        if layout.separator is None:
            cols = line.split()
        else:
            cols = line.split(layout.separator)
            if len(cols) == 2 and (cols[0] != cols[0].strip() or cols[1] != cols[1].strip()):
                repairs.add("spaces around a field stripped", lineno)
                cols = [c.strip() for c in cols]
        if len(cols) != 2:
            sep = "<TAB>" if layout.separator == "\t" else "<SPACE>"
            raise CorpusFormatError(path, lineno, f"expected 2 columns 'token{sep}tag', found {len(cols)}: {line!r}")
        if not tokens:
            start = lineno
        tokens.append(cols[0])
        tags.append(cols[1])
    flush()
    return out


def read_tagged_file(task: TaskInfo, path: Path, repair: bool = True) -> list[dict[str, Any]]:
    """All sentences of a BioBERT TSV or CoNLL file as examples."""
    layout = LAYOUTS.get(task.name, LAYOUTS["ncbi-disease"])
    repairs = Repairs(path, repair)
    checker = TagChecker(task, path, repairs)
    text = _read_text(path)
    sentences = _fast_tsv(text, checker.allowed, not checker.typed) if layout.separator == "\t" else None
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
    task: TaskInfo,
    path: Path,
    records: Iterable[tuple[int, dict[str, Any]]],
    unit: str,
    tags_field: str | None,
    repair: bool,
    int_names: dict[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    repairs = Repairs(path, repair, unit=unit)
    checker = TagChecker(task, path, repairs)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for where, record in records:
        tokens = record.get("tokens")
        if not isinstance(tokens, list):
            raise CorpusFormatError(path, where, "missing list field 'tokens'", unit=unit)
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
            raise CorpusFormatError(path, where, f"duplicate id {example_id!r}", unit=unit)
        seen.add(example_id)
        out.append({"id": example_id, "tokens": list(tokens), "tags": fixed, "line": where})
    repairs.report()
    return out


def read_jsonl_file(task: TaskInfo, path: Path, tags_field: str | None = None, repair: bool = True) -> list[dict[str, Any]]:
    """Examples from JSONL records holding ``tokens`` and a list of string tags."""
    return _records_to_examples(task, path, read_jsonl(path), "line", tags_field, repair)


def read_datasets_folder(task: TaskInfo, path: Path, split_name: str | None, tags_field: str | None = None, repair: bool = True) -> list[dict[str, Any]]:
    """Examples from a ``datasets`` ``save_to_disk`` folder (a DatasetDict and its split, or one Dataset)."""
    try:
        import datasets  # heavy: imported only when such a folder is read
    except ImportError:
        raise CorpusFormatError(path, None, "a datasets save_to_disk folder needs the 'datasets' package: pip install 'medtuned-tasks-ner[datasets]'") from None
    loaded = datasets.load_from_disk(str(path))
    dataset = loaded[split_name] if split_name is not None else loaded
    int_names = {}
    for name, feature in dataset.features.items():
        inner = getattr(feature, "feature", None)  # Sequence(ClassLabel) in datasets < 4
        if isinstance(feature, list) and feature:
            inner = feature[0]  # List(ClassLabel) in datasets >= 4
        if isinstance(inner, datasets.ClassLabel):
            int_names[name] = list(inner.names)
    records = ((i + 1, row) for i, row in enumerate(dataset.to_list()))
    return _records_to_examples(task, path if split_name is None else path / split_name, records, "record", tags_field, repair, int_names)


# -- finding a split -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    kind: str  # "native", "jsonl" or "datasets"
    path: Path
    split_name: str | None = None  # the split inside a DatasetDict folder


def find_source(task: TaskInfo, folder: Path, split: str) -> Source:
    """Where ``split`` lives: a native file, a JSONL file, or a datasets folder, tried per alias in that order."""
    import json

    layout = LAYOUTS.get(task.name, LAYOUTS["ncbi-disease"])
    aliases = SPLIT_ALIASES.get(split, (split,))
    tried: list[str] = []
    for kind, patterns in (("native", layout.patterns), ("jsonl", JSONL_PATTERNS)):
        for alias in aliases:
            for pattern in patterns:
                path = folder / pattern.format(split=alias)
                if path.is_file():
                    return Source(kind, path)
                tried.append(path.name)
    dict_file = folder / "dataset_dict.json"
    if dict_file.is_file():
        try:
            splits = json.loads(dict_file.read_text(encoding="utf-8")).get("splits", [])
        except (json.JSONDecodeError, AttributeError):
            raise CorpusFormatError(dict_file, None, "not a datasets DatasetDict description") from None
        for alias in aliases:
            if alias in splits:
                return Source("datasets", folder, alias)
        tried.append(f"{dict_file.name} splits {'/'.join(aliases)}")
    for alias in aliases:
        if (folder / alias / "state.json").is_file():
            return Source("datasets", folder / alias)
        tried.append(f"{alias}/ (datasets folder)")
    raise MissingSplitError(task.name, folder / tried[0], f"No data for split {split!r}; looked for: {', '.join(tried)}.")


def load_split(task: TaskInfo, folder: Path, split: str, options: dict[str, Any]) -> list[dict[str, Any]]:
    """The examples of one split, from whichever supported source holds it."""
    repair = bool(options.get("repair", True))
    tags_field = options.get("tags_field") or None
    source = find_source(task, folder, split)
    if source.kind == "native":
        return read_tagged_file(task, source.path, repair)
    if source.kind == "jsonl":
        return read_jsonl_file(task, source.path, tags_field, repair)
    return read_datasets_folder(task, source.path, source.split_name, tags_field, repair)
