"""The datasette rule: every hook spec is exercised by a test and documented."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from medtuned_core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("medtuned_"))


def test_the_hooks():
    assert HOOKS == [
        "medtuned_load_corpus",
        "medtuned_parse_output",
        "medtuned_register_backends",
        "medtuned_register_tasks",
        "medtuned_render_instruction",
        "medtuned_score",
        "medtuned_score_units",
    ]


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    this = Path(__file__).name
    tests = [p for p in (ROOT / "tests").glob("test_*.py") if p.name != this]
    assert any(hook in p.read_text() for p in tests), f"no test in tests/ mentions {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    doc = ROOT / "docs" / "plugins.md"
    assert doc.is_file() and f"`{hook}" in doc.read_text(), f"docs/plugins.md does not document {hook}"
    assert (inspect.getdoc(getattr(hookspecs, hook)) or "").strip(), f"{hook} has no docstring"
