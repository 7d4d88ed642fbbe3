"""A conformance kit every task package runs against its own tasks (ours and third parties').

Usage in a plugin's tests::

    from medtuned_core.testing import TaskPluginConformance
    import my_plugin

    class TestMyPlugin(TaskPluginConformance):
        plugin = my_plugin          # the object registered under the entry point
        data_dir = None             # None: each task's ``sample_data``; or a data root of fixtures

Requires the ``test`` extra (pytest, hypothesis).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .plugins import Registry, make_registry
from .render import render_split
from .scoring import score_rows
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


class TaskPluginConformance:
    plugin: ClassVar[Any]
    data_dir: ClassVar[str | Path | None] = None
    rows_per_split: ClassVar[int] = 200

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
