"""The data that crosses the plugin boundary: task metadata, rendered records, parse results."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

CANONICAL_SPLITS = ("train", "validation", "test")
KNOWN_FAMILIES = ("ner", "re", "nli", "cls", "qa")
ACCESS_LEVELS = ("public", "credentialed")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class TaskInfo:
    """What a plugin declares about one task. ``package``/``version`` are filled in by the registry."""

    name: str  # stable, lower-case: "ncbi-disease"
    family: str  # ner, re, nli, cls, qa (third parties may add families)
    description: str
    metric: str  # the primary metric reported as ``score``
    splits: tuple[str, ...]  # canonical names: train, validation, test
    data_folder: str  # folder expected under a data root, e.g. "NCBI-disease"
    templates: tuple[str, ...]  # built-in instruction templates
    labels: tuple[str, ...] = ()  # output label set, where the task has one
    citation: str = ""
    license: str = ""
    access: str = "public"  # or "credentialed"
    how_to_obtain: str = ""  # shown when the data folder is missing
    sources: tuple[str, ...] = ()  # sub-sources selectable per source (e.g. a mixed QA release)
    options: dict[str, Any] = field(default_factory=dict)  # defaults of task options (e.g. fold)
    sample_data: str = ""  # a data root shipped with the plugin holding small samples in the real format
    # Generation budget for this task's answers in `evaluate`/`predict` generate mode: at least this many new
    # tokens (an answer statement with a short reason), within --max-new-tokens; 0 = from the answers' length.
    max_new_tokens: int = 0
    package: str = ""
    version: str = ""

    @property
    def n_templates(self) -> int:
        return len(self.templates)

    def with_provider(self, package: str, version: str) -> TaskInfo:
        return replace(self, package=package, version=version)

    def problems(self) -> list[str]:
        """Why this metadata is invalid (empty when it is fine)."""
        out = []
        if not _NAME.match(self.name or ""):
            out.append(f"name {self.name!r} must be lower-case letters, digits, '.', '_' or '-'")
        if not _NAME.match(self.family or ""):
            out.append(f"family {self.family!r} must be a lower-case word")
        for attr in ("description", "metric", "data_folder"):
            if not getattr(self, attr):
                out.append(f"{attr} is empty")
        if not self.splits or any(s not in CANONICAL_SPLITS for s in self.splits):
            out.append(f"splits {self.splits!r} must be among {CANONICAL_SPLITS}")
        if not self.templates or not all(isinstance(t, str) and t.strip() for t in self.templates):
            out.append("templates must be a non-empty tuple of non-empty strings")
        if isinstance(self.max_new_tokens, bool) or not isinstance(self.max_new_tokens, int) or self.max_new_tokens < 0:
            out.append(f"max_new_tokens {self.max_new_tokens!r} must be a whole number >= 0")
        if self.access not in ACCESS_LEVELS:
            out.append(f"access {self.access!r} must be one of {ACCESS_LEVELS}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "package": self.package,
            "version": self.version,
            "metric": self.metric,
            "splits": list(self.splits),
            "description": self.description,
            "labels": list(self.labels),
            "n_templates": self.n_templates,
            "access": self.access,
            "data_folder": self.data_folder,
            "citation": self.citation,
            "license": self.license,
            "sources": list(self.sources),
            "options": dict(self.options),
            "has_sample_data": bool(self.sample_data),
            "max_new_tokens": self.max_new_tokens,
        }


@dataclass
class Parsed:
    """A parser's reading of one text.

    ``value`` is JSON-serialisable and task-specific (a tag list, a label, a set of labels as a
    sorted list, an option letter...). ``ok`` is False when the text could not be read as an answer:
    the scorer counts the row as wrong and counts it in ``unparsed``. ``diagnostics`` holds counts
    such as aligned/missing/extra/invalid lines.
    """

    value: Any
    ok: bool = True
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "ok": self.ok, "diagnostics": self.diagnostics}


@dataclass
class UnitScores:
    """A corpus-level metric written as per-unit sufficient statistics, so it can be recomputed on any
    resample of units (bootstrap confidence intervals, paired comparison of two runs) without re-scoring.

    ``unit`` names what is resampled ("example", "sentence", "document"); ``ids`` holds one id per unit
    (the example ids, or document ids when a task scores documents made of several rows); ``stats`` holds
    one row of ``k`` numbers per unit. For every multiset of units the metric is ``combine`` of the sum of
    their rows: ``combine`` maps an array ``[..., k]`` of summed statistics to the metric (vectorised over
    leading axes, NumPy), e.g. ``(tp, fp, fn) -> 2tp / (2tp + fp + fn)`` for micro F1 or
    ``(correct, 1) -> correct / n`` for accuracy. ``combine`` of the column sums must equal the score hook's
    ``score``. ``correct`` is each unit's right/wrong when the metric is accuracy (McNemar's test uses it).
    """

    unit: str
    ids: list[str]
    stats: list[list[float]]
    combine: Callable[[Any], Any]
    correct: list[bool] | None = None
