"""The tagging kit on AnatEM: messy answers parsed by position, seqeval scores, and the strict parser overriding one hook."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

from medtuned_anatem import plugin, strict
from medtuned_anatem.tasks import ANATEM
from medtuned_core.kits.tagging import parse_tags
from medtuned_core.plugins import make_registry
from medtuned_core.scoring import score_rows
from medtuned_core.types import Parsed, TaskInfo

INPUT = "The liver and the liver capsule ."
GOLD = ["O", "B-Organ", "O", "O", "B-Tissue", "I-Tissue", "O"]
GOLD_TEXT = "\n".join(f"{t} : {g}" for t, g in zip(INPUT.split(" "), GOLD, strict=True))


@pytest.fixture(scope="module")
def registry():
    return make_registry([plugin], autoload=False)


def parse(registry, answer: str):
    return registry.parse(registry.get("anatem"), answer, input=INPUT)


@pytest.mark.parametrize(
    "answer",
    [
        GOLD_TEXT,
        "Sure! Here are the labels:\n\n" + GOLD_TEXT + "\n\nLet me know if you need more.",
        "\n".join(f"{i}. {line}" for i, line in enumerate(GOLD_TEXT.splitlines(), 1)),
        "\n".join(f"- {line}" for line in GOLD_TEXT.splitlines()),
        GOLD_TEXT.replace("B-Organ", "b-organ").replace(" : ", ": ").replace("I-Tissue", "(I-Tissue)"),
    ],
)
def test_recoverable_answers_parse_to_the_gold_tags(registry, answer):
    parsed = parse(registry, answer)
    assert parsed.ok and parsed.value == GOLD, parsed


def test_the_copied_parsers_bullet_bug_is_gone():
    # The parser this example once carried stripped "- " as a bullet, so the token "-" lost its tag.
    assert parse_tags("TSH : B-Organ\n- : I-Organ\nR : I-Organ", "TSH - R").value == ["B-Organ", "I-Organ", "I-Organ"]


def test_alignment_is_by_position_not_by_word(registry):
    # The second "liver" line is missing: the first keeps B-Organ, the later words still align.
    lines = GOLD_TEXT.splitlines()
    parsed = parse(registry, "\n".join(lines[:4] + lines[5:]))
    assert parsed.value == ["O", "B-Organ", "O", "O", "O", "I-Tissue", "O"]
    assert (parsed.diagnostics["aligned"], parsed.diagnostics["invalid"], parsed.diagnostics["missing"], parsed.diagnostics["extra"]) == (6, 0, 1, 0)


def test_invalid_labels_and_extra_lines_are_counted_and_tagged_o(registry):
    answer = GOLD_TEXT.replace("B-Organ", "B-Kidney") + "\nbonus : O"
    parsed = parse(registry, answer)
    assert parsed.ok and parsed.value == ["O", "O", "O", "O", "B-Tissue", "I-Tissue", "O"]
    assert (parsed.diagnostics["aligned"], parsed.diagnostics["invalid"], parsed.diagnostics["missing"], parsed.diagnostics["extra"]) == (7, 1, 0, 1)


@pytest.mark.parametrize("answer", ["", "I do not know.", "###", "\x00\n:\n : \n"])
def test_unreadable_answers_are_unparsed_not_errors(registry, answer):
    parsed = parse(registry, answer)
    assert not parsed.ok and parsed.value == ["O"] * len(GOLD)


def _rows(predictions):
    return [{"task": "anatem", "input": INPUT, "reference": GOLD_TEXT, "prediction": p} for p in predictions]


def test_scores_are_entity_level(registry):
    perfect = score_rows(registry, _rows([GOLD_TEXT]))["anatem"]
    assert perfect["score"] == 1.0 and perfect["strict"]["f1"] == 1.0
    assert {kind: figures["f1"] for kind, figures in perfect["per_type"].items()} == {"Organ": 1.0, "Tissue": 1.0}
    # Miss the Tissue entity's first token: conlleval (default) still finds "capsule" as an entity of
    # its own (a wrong one), strict IOB2 finds nothing there. One of two gold entities is right either way.
    half = score_rows(registry, _rows([GOLD_TEXT.replace("liver : B-Tissue", "liver : O")]))["anatem"]
    assert half["recall"] == 0.5
    assert half["precision"] == 0.5 and half["score"] == 0.5
    assert half["strict"]["f1"] == pytest.approx(2 / 3)
    unparsed = score_rows(registry, _rows(["no answer"]))["anatem"]
    assert unparsed["score"] == 0.0 and unparsed["unparsed"] == 1 and unparsed["gold_unparsed"] == 0


def test_nothing_to_find_and_nothing_found_is_perfect(registry):
    rows = [{"task": "anatem", "input": "No anatomy here .", "reference": "No : O\nanatomy : O\nhere : O\n. : O", "prediction": "No : O\nanatomy : O"}]
    assert score_rows(registry, rows)["anatem"]["score"] == 1.0


# -- overriding one hook: medtuned_anatem.strict -----------------------------------------------------


def test_the_strict_parser_answers_first_and_only_for_anatem():
    chatty = "Here you go:\n" + GOLD_TEXT
    lenient = make_registry([plugin], autoload=False)
    assert lenient.parse(lenient.get("anatem"), chatty, input=INPUT).ok
    # Registered before the default plugin, so without tryfirst pluggy would call it last.
    strict_first = make_registry([strict, plugin], autoload=False)
    assert all(p.ok for p in strict_first.plugins)
    parsed = strict_first.parse(strict_first.get("anatem"), chatty, input=INPUT)
    assert not parsed.ok and parsed.value == ["O"] * len(GOLD)
    exact = strict_first.parse(strict_first.get("anatem"), "\n" + GOLD_TEXT + "\n", input=INPUT)
    assert exact.ok and exact.value == GOLD
    assert not strict_first.parse(strict_first.get("anatem"), GOLD_TEXT.replace(" : ", ": "), input=INPUT).ok
    other = TaskInfo(name="other-task", family="ner", description="d", metric="m", splits=("train",), data_folder="X", templates=("t",))
    assert strict.medtuned_parse_output(task=other, text=GOLD_TEXT, input=INPUT, reference=None) is None
    # The other three task hooks still come from the default plugin: scoring is unchanged for exact answers.
    assert score_rows(strict_first, _rows([GOLD_TEXT]))["anatem"]["score"] == 1.0
    assert score_rows(strict_first, _rows([chatty]))["anatem"]["unparsed"] == 1


GUIDE = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"


@pytest.mark.skipif(not GUIDE.is_file(), reason="docs/plugins.md is not beside this example (copied out of the MedTuned repository)")
def test_the_guide_snippet_is_the_strict_parser():
    section = GUIDE.read_text(encoding="utf-8").split("## Overriding one hook", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    snippet = types.ModuleType("medtuned_anatem.guide_strict")
    snippet.__package__ = "medtuned_anatem"  # the snippet's relative import of .tasks resolves in the example package
    exec(compile(code, str(GUIDE), "exec"), snippet.__dict__)
    registry = make_registry([snippet, plugin], autoload=False)
    assert registry.parse(registry.get("anatem"), GOLD_TEXT, input=INPUT).value == GOLD
    for answer in ("Here you go:\n" + GOLD_TEXT, GOLD_TEXT.replace(" : ", ": "), GOLD_TEXT.replace("B-Organ", "B-Kidney")):
        assert registry.parse(registry.get("anatem"), answer, input=INPUT) == strict.medtuned_parse_output(
            task=ANATEM, text=answer, input=INPUT, reference=None
        )
        assert not registry.parse(registry.get("anatem"), answer, input=INPUT).ok


def test_parsers_return_parsed_objects():
    assert isinstance(parse_tags("x : O", None), Parsed)
    assert parse_tags("x : O\ny : B-Cell", None).value == ["O", "B-Cell"]
