"""Per-task generation budgets: TaskInfo.max_new_tokens is a floor for generate requests, within --max-new-tokens."""

from __future__ import annotations

import json

import pytest

from medtuned_core import TaskInfo
from medtuned_core.evaluate.generate import budget
from medtuned_core.evaluate.runner import make_requests


class Words:
    """A backend stand-in whose tokens are words."""

    capabilities = frozenset({"generate", "rank", "tag"})

    @staticmethod
    def count_tokens(texts):
        return [len(t.split()) for t in texts]


ROW = {"task": "t", "id": "1", "instruction": "Answer yes, no or maybe.", "input": "x", "output": "yes", "choices": ["yes", "no", "maybe"]}


@pytest.mark.parametrize(("floor", "cap", "expected"), [(0, 512, budget(1)), (128, 512, 128), (128, 64, 64), (4, 512, budget(1))])
def test_the_task_budget_is_a_floor_within_the_cap(floor, cap, expected):
    (request,) = make_requests(Words(), [ROW], "generate", cap, floor=floor)
    assert request.method == "generate" and request.max_new_tokens == expected


def test_score_mode_ranks_choices_whatever_the_budget():
    (request,) = make_requests(Words(), [ROW], "score", 512, floor=128)
    assert request.method == "rank"


def test_the_budget_is_task_metadata_shown_by_describe():
    info = TaskInfo(name="t", family="qa", description="d", metric="accuracy", splits=("test",), data_folder="T", templates=("x",), max_new_tokens=96)
    assert info.to_json()["max_new_tokens"] == 96 and not info.problems()
    assert TaskInfo(
        name="t", family="qa", description="d", metric="accuracy", splits=("test",), data_folder="T", templates=("x",), max_new_tokens=-1
    ).problems()


class WordsWriter(Words):
    """A generation-only stand-in backend for ``evaluate``: answers every request with the first choice, or 'x'."""

    name = "words"
    model_name = "words"
    capabilities = frozenset({"generate"})

    def generate(self, requests, max_new_tokens):
        return [(r.choices or ["x"])[0] for r in requests]


def test_evaluate_gives_generation_the_task_budget(tmp_path):
    """evaluate passes TaskInfo.max_new_tokens to the budget rule (a merge once dropped it): GAD declares 32, its
    choices take one word, so without the floor the budget would be budget(1) = 10."""
    from medtuned_core.evaluate.runner import evaluate
    from medtuned_core.plugins import get_registry
    from medtuned_core.testing_models import sample_data_root

    registry = get_registry()
    info = registry.get("gad")
    assert info.max_new_tokens == 32 > budget(1)
    root = sample_data_root(tmp_path / "data", ["gad"], registry)
    evaluate(WordsWriter(), "gad", root, "test", tmp_path / "eval", "generate", 3, n_boot=0, progress=False, prompt_format="alpaca")
    rows = [json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()]
    assert rows and all(r["decode"]["max_new_tokens"] == 32 for r in rows)
