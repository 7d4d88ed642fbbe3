"""A conformance kit every task package runs against its own tasks (ours and third parties').

Usage in a plugin's tests::

    from medtuned_core.testing import TaskPluginConformance
    import my_plugin

    class TestMyPlugin(TaskPluginConformance):
        plugin = my_plugin          # the object registered under the entry point
        data_dir = None             # None: each task's ``sample_data``; or a data root of fixtures

Every task gets: clean loading, complete metadata, valid and deterministic renders, gold-as-prediction
scoring 1.0 with nothing unparsed, and a parser that never raises on hypothesis-generated text. A task
built on a kit (:mod:`medtuned_core.kits`) also gets, on the samples and — when ``../shared/corpora`` holds
its data folder — on the real splits: parsed gold equal to the structure the loader produced (tags per
token, label sets: ``Kit.structure``); a seeded perturbation of gold scored through the hooks equal to
the field's library called directly (``Kit.reference_score``: seqeval, scikit-learn); per-unit
statistics whose combination equals the score exactly; and, for tagging tasks, answers written as
bulleted or numbered lists and tokens that are themselves ``-``, ``*``, ``•`` or ``3.``. A plugin that
is not built on a kit can still get the structure check by setting ``structure`` to a function
``(task, example) -> value``.

Requires the ``test`` extra (pytest, hypothesis).
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .kits import TaskSpec, get_kit
from .kits.declare import spec_of
from .plugins import Registry, make_registry
from .render import render_examples, render_split
from .scoring import parse_row, score_parsed, score_rows
from .types import Parsed, TaskInfo


def shared_corpora() -> Path | None:
    """The real corpora (``../shared/corpora`` beside the repository, or ``$MEDTUNED_SHARED_CORPORA``).

    Tests that need them skip when this returns None; CI has them.
    """
    env = os.environ.get("MEDTUNED_SHARED_CORPORA")
    candidates = [Path(env)] if env else []
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        candidates.append(base.parent / "shared" / "corpora")
    return next((c for c in candidates if (c / "SOURCES.md").is_file()), None)


def requires_corpora():
    """A pytest mark that skips a test when the real corpora are absent."""
    import pytest

    return pytest.mark.skipif(shared_corpora() is None, reason="needs ../shared/corpora (real corpora, present in CI); set MEDTUNED_SHARED_CORPORA")


def registry_fixture(*plugins: object):
    """A session-scoped pytest fixture named ``registry`` holding only ``plugins`` (no entry points): a task
    package's conftest says ``registry = registry_fixture(plugin)``."""
    import pytest

    @pytest.fixture(scope="session", name="registry")
    def _registry() -> Registry:
        return make_registry(list(plugins), autoload=False)

    return _registry


def plugin_cli(monkeypatch, *plugins_to_load: str):
    """Run the ``medtuned`` CLI in-process with only the named plugins loaded from their installed entry
    points, as ``MEDTUNED_PLUGINS`` would select them: ``run("list-tasks", "--json")`` returns the click
    result and asserts the exit code (``ok=False`` expects a failure)."""
    from click.testing import CliRunner

    from . import plugins
    from .cli import cli

    monkeypatch.setenv(plugins.ENV_PLUGINS, ",".join(plugins_to_load))
    monkeypatch.setattr(plugins, "_default", None)  # a fresh process-wide registry from the entry points

    def run(*args: str, ok: bool = True):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return run


# Text that looks like model output: answer-ish lines, tags, labels, unicode and control characters.
_messy_text = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from([" : ", ":", "B", "I", "O", "B-", "\n", "###", "Output", "(", ")", ",", " "]), st.text(max_size=12)), max_size=60).map(
        "".join
    ),
)


# Tokens that are list markers themselves, and the list forms models wrap answer lines in.
MARKER_TOKENS = ("-", "*", "\u2022", "3.", "+", "1)")
LIST_FORMS: dict[str, Callable[[int, str], str]] = {
    "dash bullets": lambda k, line: f"- {line}",
    "star bullets": lambda k, line: f"* {line}",
    "dot bullets": lambda k, line: f"\u2022 {line}",
    "numbered": lambda k, line: f"{k + 1}. {line}",
    "numbered with )": lambda k, line: f"{k + 1}) {line}",
    "indented": lambda k, line: f"  {line}",
}


class TaskPluginConformance:
    plugin: ClassVar[Any]
    data_dir: ClassVar[str | Path | None] = None
    rows_per_split: ClassVar[int] = 200
    real_rows_per_split: ClassVar[int] = 2000  # of a real split under ../shared/corpora, when present
    perturb_seed: ClassVar[int] = 0
    perturbed_rows_per_split: ClassVar[int] = 1000  # examples of each split scored perturbed
    # For plugins not built on a kit: (task, example) -> what parsing the rendered gold must give.
    structure: ClassVar[Callable[[TaskInfo, dict[str, Any]], Any] | None] = None
    # False for a deliberately strict-format parser: list-formatted answers are then not required to parse.
    lenient_parser: ClassVar[bool] = True

    @classmethod
    @functools.cache
    def _registry(cls) -> Registry:
        return make_registry([cls.plugin], autoload=False)

    @classmethod
    def _tasks(cls) -> list[TaskInfo]:
        return list(cls._registry().tasks.values())

    @classmethod
    def _root(cls, task: TaskInfo) -> Path:
        return Path(cls.data_dir) if cls.data_dir is not None else Path(task.sample_data)

    @classmethod
    def _splits(cls, task: TaskInfo) -> list[str]:
        """The splits whose data exists under the root (probed by loading)."""
        out = []
        for split in task.splits:
            try:
                next(iter(cls._registry().load(task, cls._root(task), split)), None)
            except FileNotFoundError:
                continue
            out.append(split)
        return out

    @classmethod
    @functools.cache
    def _rows(cls) -> dict[tuple[str, str], list[dict[str, Any]]]:
        reg = cls._registry()
        return {(t.name, s): list(render_split(reg, t, cls._root(t), s, limit=cls.rows_per_split)) for t in cls._tasks() for s in cls._splits(t)}

    def test_plugin_loads_cleanly(self) -> None:
        statuses = self._registry().plugins
        assert all(p.ok for p in statuses), [p.error for p in statuses]
        assert self._tasks(), "the plugin declares no task"

    def test_metadata_complete(self) -> None:
        for t in self._tasks():
            assert not t.problems(), (t.name, t.problems())
            assert t.citation and t.license, f"{t.name}: citation and license are required"
            assert t.family and t.metric and t.description
            assert self.data_dir is not None or (t.sample_data and Path(t.sample_data, t.data_folder).is_dir()), f"{t.name}: sample_data missing"

    def test_render_gives_valid_rows(self) -> None:
        rows = self._rows()
        for t in self._tasks():
            assert any(name == t.name for name, _ in rows), f"{t.name}: no split has data under {self._root(t)}"
        for (name, split), items in rows.items():
            assert items, f"{name}/{split}: no rows"
            ids = [r["id"] for r in items]
            assert len(ids) == len(set(ids)), f"{name}/{split}: duplicate ids"
            for r in items:
                for key in ("instruction", "input", "output", "task", "template_id"):
                    assert isinstance(r[key], str), (name, split, key)
                assert r["instruction"].strip() and r["task"] == name

    def test_render_is_deterministic(self) -> None:
        reg = self._registry()
        for (name, split), items in self._rows().items():
            t = reg.get(name)
            again = list(render_split(reg, t, self._root(t), split, limit=self.rows_per_split))
            assert again == items, f"{name}/{split}: two renders with one seed differ"

    def test_gold_scores_perfect(self) -> None:
        rows = [
            {"task": r["task"], "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": r["output"]}
            for items in self._rows().values()
            for r in items
        ]
        for name, result in score_rows(self._registry(), rows).items():
            assert result["unparsed"] == 0, (name, result)
            assert result["score"] == 1.0, (name, result)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=_messy_text, pick=st.integers(min_value=0))
    def test_parser_never_raises(self, text: str, pick: int) -> None:
        reg = self._registry()
        rows = [r for items in self._rows().values() for r in items[:5]]
        if not rows:
            return
        row = rows[pick % len(rows)]
        task = reg.get(row["task"])
        for candidate in (text, row["output"][: len(text)] + text, text + row["output"]):
            parsed = reg.parse(task, candidate, input=row["input"], reference=row["output"])
            assert isinstance(parsed, Parsed)
        assert isinstance(reg.parse(task, text, input=None, reference=None), Parsed)

    # -- tasks built on a kit ------------------------------------------------------------------------------

    @classmethod
    def _spec(cls, task: TaskInfo) -> TaskSpec | None:
        return spec_of(cls._registry(), task.name)

    @classmethod
    @functools.cache
    def _examples(cls) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
        """``(task, split, "samples" | "real") -> examples`` loaded through the hook (real: when present)."""
        reg = cls._registry()
        out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        real = shared_corpora()
        for task in cls._tasks():
            for split in cls._splits(task):
                out[task.name, split, "samples"] = list(reg.load(task, cls._root(task), split))[: cls.rows_per_split]
            if real is not None and cls.real_rows_per_split and (real / task.data_folder).is_dir():
                for split in task.splits:
                    try:
                        out[task.name, split, "real"] = list(reg.load(task, real, split))[: cls.real_rows_per_split]
                    except FileNotFoundError:
                        continue
        return out

    def _structure_of(self, task: TaskInfo) -> Callable[[dict[str, Any]], Any] | None:
        spec = self._spec(task)
        if spec is not None:
            kit = get_kit(spec.kit)
            return lambda example: kit.structure(spec, example)
        if type(self).structure is not None:
            return lambda example: type(self).structure(task, example)
        return None

    def test_parsed_gold_is_the_loaded_structure(self) -> None:
        reg = self._registry()
        checked = 0
        for (name, split, where), examples in self._examples().items():
            task = reg.get(name)
            structure = self._structure_of(task)
            if structure is None:
                continue
            for example, row in zip(examples, render_examples(reg, task, examples, split), strict=True):
                parsed = reg.parse(task, row["output"], input=row["input"], reference=None)
                assert parsed.ok, (name, split, where, row["id"], parsed.diagnostics)
                assert parsed.value == structure(example), (
                    f"{name}/{split} ({where}) example {row['id']}: parsed gold {parsed.value!r} != loaded {structure(example)!r}"
                )
                checked += 1
        if any(self._spec(t) for t in self._tasks()):
            assert checked, "no example of a kit-built task was checked"

    def test_perturbed_gold_scores_like_the_reference_library(self) -> None:
        """Perturbed gold, rendered as a prediction, scored through the hooks == the field's library called directly."""
        reg = self._registry()
        for (name, split, where), examples in self._examples().items():
            task = reg.get(name)
            spec = self._spec(task)
            if spec is None or not examples:
                continue
            kit = get_kit(spec.kit)
            rng = random.Random(f"{self.perturb_seed}/{name}/{split}/{where}")
            examples = examples[: self.perturbed_rows_per_split]
            perturbed = [kit.perturb(spec, e, rng) for e in examples]
            gold_rows = list(render_examples(reg, task, examples, split))
            pred_rows = list(render_examples(reg, task, perturbed, split))
            rows = [
                {"task": name, "id": g["id"], "input": g["input"], "reference": g["output"], "prediction": p["output"]}
                for g, p in zip(gold_rows, pred_rows, strict=True)
            ]
            parsed = [parse_row(reg, r) for r in rows]
            result = score_parsed(reg, parsed)[name]
            golds, preds = [kit.structure(spec, e) for e in examples], [kit.structure(spec, e) for e in perturbed]
            expected = kit.reference_score(spec, golds, preds, ids=[str(e["id"]) for e in examples])
            assert abs(result["score"] - expected) < 1e-12, f"{name}/{split} ({where}): kit {result['score']} != reference library {expected}"
            units = reg.score_units(task, [p.gold for p in parsed], [p.pred for p in parsed], rows)
            if units is not None:
                import numpy as np

                assert len(units.ids) == len(units.stats), name
                combined = float(units.combine(np.asarray(units.stats, dtype=float).sum(axis=0)))
                assert combined == result["score"], f"{name}/{split} ({where}): combine of the unit sums {combined} != score {result['score']}"

    def test_list_formatted_answers_and_marker_tokens(self) -> None:
        """Tagging tasks (rows with a ``tagging`` hint): answers as bulleted/numbered lists, and tokens that are
        themselves list markers, read exactly as the plain answer."""
        for items in self._rows().values():
            tagged = [r for r in items[:20] if isinstance(r.get("tagging"), dict)]
            if not tagged:
                continue
            row = tagged[0]
            task = self._registry().get(row["task"])
            hint = row["tagging"]
            gold = self._registry().parse(task, row["output"], input=row["input"], reference=None).value
            entity = next((label for label in hint["labels"] if label != "O"), hint["labels"][0])
            tokens = [*hint["tokens"][:3], *MARKER_TOKENS, *hint["tokens"][3:]]
            tags = [*gold[:3], *([entity] * len(MARKER_TOKENS)), *gold[3:]]  # a lost marker token would read as O
            lines = [hint["line"].format(token=t, label=g) for t, g in zip(tokens, tags, strict=True)]
            plain, text_input = hint["sep"].join(lines), " ".join(tokens)
            assert self._registry().parse(task, plain, input=text_input, reference=None).value == tags, (task.name, "plain answer with marker tokens")
            for form, decorate in LIST_FORMS.items() if self.lenient_parser else ():
                text = "\n".join(decorate(k, line) for k, line in enumerate(lines))
                for reference in (plain, None):
                    parsed = self._registry().parse(task, text, input=text_input, reference=reference)
                    assert parsed.value == tags, f"{task.name}: {form} answer read as {parsed.value!r} ({parsed.diagnostics})"
