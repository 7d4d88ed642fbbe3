"""Parsers: label variants, first mention wins, explicit invalid predictions, never raising."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medtuned_core import Parsed
from medtuned_core.kits.labels import parse_label
from medtuned_tasks_re.tasks import GAD_OUTPUTS, I2B2_OUTPUTS, SPECS

ALIASES = {spec.name: spec.config.aliases for spec in SPECS}


def parse_gad(text):
    return parse_label(text, ALIASES["gad"])


def parse_i2b2_2010(text):
    return parse_label(text, ALIASES["i2b2-2010"])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("TrAP", "TrAP"),
        ("trap.", "TrAP"),
        ("**TrAP**", "TrAP"),
        ("  TrAP\n", "TrAP"),
        ("The relation is TrAP.", "TrAP"),
        ("Answer: TRNAP", "TrNAP"),
        ("Treatment is administered for medical problem", "TrAP"),
        ("treatment administered for problem", "TrAP"),
        ("Treatment is not administered because of medical problem", "TrNAP"),  # not TrAP, though it contains "administered"
        ("The test reveals medical problem here (TeRP).", "TeRP"),
        ("Test conducted to investigate medical problem", "TeCP"),
        ("medical problem indicates medical problem", "PIP"),
        ("PIP", "PIP"),
        ("TrIP", "TrIP"),
        ("TrWP", "TrWP"),
        ("TrCP", "TrCP"),
        ("TeCP", "TeCP"),
        ("No Relations", "No Relations"),
        ("no relations.", "No Relations"),
        ("There is no relation between them.", "No Relations"),
        ("None", "No Relations"),
        ("false", "No Relations"),
        ("TrIP, or possibly TrWP", "TrIP"),
        ("No relation; certainly not TrAP.", "No Relations"),
    ],
)
def test_i2b2_variants(text, label):
    parsed = parse_i2b2_2010(text)
    assert parsed.ok and parsed.value == label


def test_i2b2_first_mention_wins_and_is_recorded():
    parsed = parse_i2b2_2010("TeRP (or TeCP, or PIP)")
    assert parsed.value == "TeRP"
    assert parsed.diagnostics["mentioned"] == ["TeRP", "TeCP", "PIP"]


@pytest.mark.parametrize("text", ["", "   ", "I cannot tell.", "TrXP", "Tr", "TrAPs", "relation", "@treatment$ and @problem$", "\x00\x01"])
def test_i2b2_no_label_is_invalid_not_a_class(text):
    parsed = parse_i2b2_2010(text)
    assert parsed == Parsed(None, ok=False, diagnostics={"reason": "no label mentioned"})


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Positive", "Positive"),
        ("negative.", "Negative"),
        ("Answer: POSITIVE", "Positive"),
        ("The gene is associated with the disease.", "Positive"),
        ("There is no association.", "Negative"),
        ("The gene is not associated with the disease.", "Negative"),
        ("unrelated", "Negative"),
        ("Yes", "Positive"),
        ("No.", "Negative"),
        ("Not positive", "Negative"),
        ("Negative, not positive", "Negative"),
        ("Positive (an association is described), not Negative", "Positive"),
    ],
)
def test_gad_variants(text, label):
    parsed = parse_gad(text)
    assert parsed.ok and parsed.value == label


@pytest.mark.parametrize("text", ["", "maybe", "Positivity", "posit", "@GENE$ @DISEASE$", "1"])
def test_gad_no_label_is_invalid(text):
    parsed = parse_gad(text)
    assert not parsed.ok and parsed.value is None


@pytest.mark.parametrize("parse, outputs", [(parse_gad, GAD_OUTPUTS), (parse_i2b2_2010, I2B2_OUTPUTS)])
def test_every_output_reads_as_itself(parse, outputs):
    for output in outputs:
        assert parse(output) == Parsed(output, ok=True)


_fragments = st.sampled_from([*GAD_OUTPUTS, *I2B2_OUTPUTS, "no", "not", "none", "Tr", "@problem$", ".", "\n", "**", "é", "\u200b", " "])
_texts = st.one_of(st.text(max_size=300), st.lists(st.one_of(_fragments, st.text(max_size=8)), max_size=40).map("".join))


@settings(max_examples=400, deadline=None)
@given(text=_texts)
def test_parsers_never_raise_and_return_a_known_label_or_invalid(text):
    for parse, outputs in ((parse_gad, GAD_OUTPUTS), (parse_i2b2_2010, I2B2_OUTPUTS)):
        parsed = parse(text)
        assert isinstance(parsed, Parsed)
        assert (parsed.ok and parsed.value in outputs) or (not parsed.ok and parsed.value is None)


@pytest.mark.parametrize("junk", [None, 3, b"TrAP", ["TrAP"]])
def test_parsers_tolerate_non_strings(junk):
    assert parse_gad(junk).ok is False
    assert parse_i2b2_2010(junk).ok is False
