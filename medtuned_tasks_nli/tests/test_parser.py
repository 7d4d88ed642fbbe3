"""The MedNLI answer parser: label variants, first mention wins, invalid answers, never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtuned_core.kits.labels import parse_label
from medtuned_tasks_nli.tasks import SPECS


def parse_nli(text):
    return parse_label(text, SPECS[0].config.aliases)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Entailment", "Entailment"),
        ("  contradiction.\n", "Contradiction"),
        ("NEUTRAL", "Neutral"),
        ("**Neutral**", "Neutral"),
        ("Answer: Entailment", "Entailment"),
        ("The relation is Contradiction.", "Contradiction"),
        ("Sentence 2 contradicts sentence 1.", "Contradiction"),
        ("The premise entails the hypothesis", "Entailment"),
        ("The two statements are contradictory", "Contradiction"),
        ("Entailment, not contradiction", "Entailment"),  # the first label mentioned wins
        ("Neutral (it neither entails nor contradicts)", "Neutral"),
    ],
)
def test_labels_are_read(text, label):
    parsed = parse_nli(text)
    assert parsed.ok and parsed.value == label


def test_several_mentions_are_reported():
    assert parse_nli("Entailment, not contradiction").diagnostics == {"mentioned": ["Entailment", "Contradiction"]}


@pytest.mark.parametrize("text", ["", "   ", "Yes", "I am not sure.", "unentailed", "neutrality", "contradictions abound"])
def test_no_label_is_an_invalid_answer(text):
    parsed = parse_nli(text)
    assert not parsed.ok and parsed.value is None


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_never_raises(text):
    parsed = parse_nli(text)
    assert parsed.value in (None, "Entailment", "Contradiction", "Neutral")
    assert parsed.ok == (parsed.value is not None)
