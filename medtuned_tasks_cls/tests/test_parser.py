"""The HoC answer parser: names, variants, abbreviations, None exclusive, empty answers, never raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtuned_tasks_cls.parser import parse_hoc
from medtuned_tasks_cls.tasks import CORPUS_LABELS, DISPLAY, HALLMARKS

PS, GS, CD, RI, A, IM, GI, TPI, CE, ID = HALLMARKS


def render_labels(labels):
    return ", ".join(DISPLAY[label] for label in labels)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("Sustaining proliferative signaling (PS)", [PS]),
        ("Activating invasion & metastasis (IM), Inducing angiogenesis (A)", [IM, A]),
        ("activating invasion and metastasis", [IM]),
        ("Tumour-promoting inflammation", [TPI]),
        ("genomic instability", [GI]),
        ("Deregulating cellular energetics", [CE]),
        ("sustaining proliferative signalling; evading growth suppressors", [GS, PS]),
        ("(IM)", [IM]),
        ("(im) and (ce)", [CE, IM]),
        ("IM", [IM]),
        ("The hallmarks are PS, GS and CD.", [CD, GS, PS]),
        ("A", [A]),
        ("A, IM", [IM, A]),
        ("The sentence describes angiogenesis.", [A]),
        ("Labels: Avoiding immune destruction (ID), Enabling replicative immortality (RI)", [ID, RI]),
        ("None", ["none"]),
        ("none.", ["none"]),
        ("No hallmarks are described.", ["none"]),
        ("None, Inducing angiogenesis (A)", [A]),  # None is exclusive: named with a hallmark it is dropped
    ],
)
def test_labels_are_read_and_sorted(text, labels):
    parsed = parse_hoc(text, reference="None")
    assert parsed.ok and parsed.value == sorted(labels)


def test_dropping_none_is_reported():
    assert parse_hoc("None, Inducing angiogenesis (A)", reference=None).diagnostics == {"none_dropped": True}


@pytest.mark.parametrize(
    "text",
    [
        "a",  # the article, not angiogenesis
        "This is a sentence about a cell line.",
        "(a) cells grew faster",
        "CD95 expression was measured",  # CD inside a longer token
        "im",  # bare abbreviations count in upper case only
        "I do not know.",
        "proliferation",
    ],
)
def test_text_naming_no_label_is_invalid(text):
    parsed = parse_hoc(text, reference="None")
    assert not parsed.ok and parsed.value is None


def test_empty_answers():
    # The gold for a sentence with an empty label list renders as "": it must read as "no labels".
    assert parse_hoc("", reference=None).ok and parse_hoc("", reference=None).value == []
    # A model reproducing that empty gold is right.
    assert parse_hoc(" \n", reference="").value == []
    # Anywhere else an empty answer is an invalid prediction.
    for reference in ("None", "Resisting cell death (CD)"):
        parsed = parse_hoc("", reference=reference)
        assert not parsed.ok and parsed.value is None and parsed.diagnostics == {"reason": "empty answer"}


def test_every_rendered_output_parses_back():
    for label in CORPUS_LABELS:
        assert parse_hoc(DISPLAY[label], reference=None).value == [label]
    everything = render_labels(list(reversed(HALLMARKS)))
    assert parse_hoc(everything, reference=None).value == sorted(HALLMARKS)


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(st.text(max_size=200), st.lists(st.sampled_from([*DISPLAY.values(), "A", "IM", "(a)", ",", " ", "and", "None"]), max_size=8).map(" ".join))
)
def test_never_raises_and_values_are_well_formed(text):
    for reference in (None, "", "None"):
        parsed = parse_hoc(text, reference=reference)
        if not parsed.ok:
            assert parsed.value is None
            continue
        assert parsed.value == sorted(set(parsed.value)) and set(parsed.value) <= set(CORPUS_LABELS)
        assert "none" not in parsed.value or parsed.value == ["none"]
