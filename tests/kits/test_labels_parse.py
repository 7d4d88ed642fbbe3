"""Answer extraction by the kits: multiple-choice options, closed answers (yes/no/maybe), free text with an
option; never raising on any string."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtuned_core import Parsed
from medtuned_core.kits.labels import option_line, options_from_input, parse_answer, parse_choice
from medtuned_core.kits.text import parse_text, parse_with_option

OPTIONS = {"A": "Ampicillin", "B": "Ceftriaxone", "C": "Doxycycline", "D": "Nitrofurantoin"}
INPUT = "A pregnant woman has a urinary infection. Which drug is safest?\n\n" + "\n".join(option_line(k, v) for k, v in OPTIONS.items())
DECISIONS = {"yes": (), "no": (), "maybe": ("uncertain", "unclear", "inconclusive")}  # PubMedQA's
PMC_OPTION = re.compile(r"(?i)\bOPTION\s+([A-J])\s+IS\s+CORRECT\b")


def parse_option(text, options=None):
    return parse_choice(text, options)


def parse_decision(text):
    return parse_answer(text, DECISIONS)


def parse_free_text(text):
    return parse_text(text)


def parse_pmc_llama(text, input, reference):
    return parse_with_option(text, input, reference, PMC_OPTION)


def test_options_are_read_back_from_the_rendered_input():
    assert options_from_input(INPUT) == OPTIONS
    pmc = "Reply with one option.\n\n###Question: Which?\n###Options:\nA. one\nB. two\nC. three\nD. four\n"
    assert options_from_input(pmc) == {"A": "one", "B": "two", "C": "three", "D": "four"}
    assert options_from_input("A. lonely line") == {} and options_from_input(None) == {} and options_from_input("") == {}
    # Only the trailing run that starts at A counts: a question line that looks like an option is not one.
    assert options_from_input("C. difficile is suspected.\n\nA. x\nB. y") == {"A": "x", "B": "y"}


@pytest.mark.parametrize(
    "text, letter",
    [
        ("D. Nitrofurantoin", "D"),  # our output form
        ("###Answer: OPTION D IS CORRECT.", "D"),  # PMC-LLaMA's
        ("OPTION B IS CORRECT", "B"),
        ("The answer is (B)", "B"),
        ("The answer is (b).", "B"),
        ("the correct answer is c", "C"),
        ("Answer: B", "B"),
        ("**Answer:** C", "C"),
        ("B.", "B"),
        ("B", "B"),
        ("(C) Doxycycline", "C"),
        ("c) doxycycline", "C"),
        ("A: Ampicillin, because it is safe.", "A"),
        ("nitrofurantoin", "D"),  # the option's text without its letter
        ("I would give Doxycycline here.", "C"),
        ("The best choice is ceftriaxone.", "B"),
        ("The answer is nitrofurantoin. Ampicillin has high resistance rates.", "D"),
        ("The correct option is A", "A"),
        ("Option C is the best answer here.", "C"),
        ("Final answer: \\boxed{D}", "D"),
        # several mentions: the explicit final answer wins
        ("Option A is tempting and option B covers the organism, but the answer is (D).", "D"),
        ("Ampicillin and ceftriaxone are possible. Doxycycline is contraindicated. Answer: D", "D"),
        ("The answer is B. Wait, reconsidering the pregnancy, the final answer is D.", "D"),
        ("A. Ampicillin is wrong. The correct answer is C.", "C"),
    ],
)
def test_medqa_answers(text, letter):
    parsed = parse_option(text, OPTIONS)
    assert parsed.ok and parsed.value == letter, parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "I am not sure.",
        "Ampicillin or ceftriaxone would both work.",  # two options, no conclusion
        "Option A or option B.",
        "The answer is a difficult one.",  # the article, not option A
        "A 24-year-old woman needs treatment.",
    ],
)
def test_medqa_unparseable(text):
    parsed = parse_option(text, OPTIONS)
    assert not parsed.ok and parsed.value is None and parsed.diagnostics["reason"]


def test_medqa_letter_outside_the_options_is_unparsed():
    parsed = parse_option("The answer is E", OPTIONS)
    assert not parsed.ok and "not among the options ABCD" in parsed.diagnostics["reason"]
    assert parse_option("The answer is E", None).value == "E"  # without the options, A-J are possible


def test_medqa_without_input_reads_letters_only():
    assert parse_option("Nitrofurantoin", None).ok is False
    assert parse_option("OPTION D IS CORRECT.", None).value == "D"


def test_medqa_overlapping_option_texts_prefer_the_longer():
    options = {"A": "Hepatitis", "B": "Autoimmune hepatitis", "C": "Cirrhosis"}
    assert parse_option("This is autoimmune hepatitis.", options).value == "B"


@pytest.mark.parametrize(
    "text, decision",
    [
        ("yes", "yes"),
        ("No", "no"),
        ("maybe", "maybe"),
        ("Yes. The trial showed a clear benefit.", "yes"),
        ("The answer is no.", "no"),
        ("Answer: maybe", "maybe"),
        ("No clear answer emerges from the data; the answer is maybe.", "maybe"),
        ("The evidence is inconclusive.", "maybe"),
        ("Final decision: YES", "yes"),
        ('"no"', "no"),
    ],
)
def test_pubmedqa_decisions(text, decision):
    parsed = parse_decision(text)
    assert parsed.ok and parsed.value == decision


@pytest.mark.parametrize("text", ["", "The study was well designed.", "Could be yes or no."])
def test_pubmedqa_unparseable(text):
    parsed = parse_decision(text)
    assert not parsed.ok and parsed.value is None


def test_free_text():
    assert parse_free_text("  Rest and fluids. ") == Parsed("Rest and fluids.", ok=True)
    assert parse_free_text(" \n").ok is False


def test_pmc_llama_option_rows():
    pmc_input = "Reply with one option.\n\n###Question: Which?\n###Options:\nA. one\nB. two\nC. three\nD. four"
    gold = "###Answer: OPTION C IS CORRECT."
    assert parse_pmc_llama(gold, pmc_input, None).value == {"text": gold, "option": "C"}
    assert parse_pmc_llama("The answer is three.", pmc_input, gold).value == {"text": "The answer is three.", "option": "C"}
    assert parse_pmc_llama("no idea", pmc_input, gold).value["option"] is None
    free = parse_pmc_llama("A slow heart rate.", "###Term: Bradycardia", "A heart rate below 60.")
    assert free.ok and free.value == {"text": "A slow heart rate.", "option": None}
    assert not parse_pmc_llama("", None, gold).ok


_messy = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "answer",
                    "Answer:",
                    " is ",
                    "OPTION",
                    "IS CORRECT",
                    "(",
                    ")",
                    "[",
                    "A",
                    "b",
                    "E",
                    ".",
                    "\n",
                    "yes",
                    "no",
                    "maybe",
                    "\\boxed{",
                    "}",
                    "###",
                    "*",
                ]
            ),
            st.text(max_size=6),
        ),
        max_size=40,
    ).map("".join),
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=_messy, input=st.one_of(st.none(), st.just(INPUT), st.text(max_size=80)))
def test_parsers_never_raise(text, input):
    for parsed in (
        parse_option(text, options_from_input(input) or None),
        parse_decision(text),
        parse_free_text(text),
        parse_pmc_llama(text, input, None),
        parse_pmc_llama(text, input, "OPTION A IS CORRECT"),
    ):
        assert isinstance(parsed, Parsed)
        assert parsed.ok or parsed.value is None
    option = parse_option(text, OPTIONS)
    assert option.value is None or option.value in OPTIONS
    decision = parse_decision(text)
    assert decision.value in (None, "yes", "no", "maybe")


# Answer styles as small instruction-tuned models write them (SmolLM2-135M-Instruct, Llama-2-7b-chat and the
# like, in generate mode): each must read as the answer it states.
SMALL_MODEL_MEDQA = [
    ("The answer is: A", "A"),
    ('The answer is "C"', "C"),
    ("The answer is: B.", "B"),
    ("(B)", "B"),
    ("**B. Ceftriaxone**", "B"),
    ("Answer: b", "B"),
    ("I think the answer is option C because doxycycline covers the organism.", "C"),
    ("Nitrofurantoin", "D"),
    ("The answer is: Nitrofurantoin", "D"),
    ("The answer is 'nitrofurantoin'.", "D"),
    ("The correct answer is D) Nitrofurantoin.", "D"),
    ("B) Ceftriaxone", "B"),
    ("The answer is (C) Doxycycline.", "C"),
    ("Answer: 'A'", "A"),
    ("The best answer is: [B]", "B"),
    ("D: Nitrofurantoin is safe in pregnancy.", "D"),
    ("Correct option: D", "D"),
    ("### Answer: OPTION A IS CORRECT.", "A"),
]
SMALL_MODEL_PUBMEDQA = [
    ("Yes, bedside ultrasound shortens the time to diagnosis.", "yes"),
    ("The answer is maybe.", "maybe"),
    ("The answer is: no", "no"),
    ("Answer: Yes", "yes"),
    ("**No**", "no"),
    ("Based on the results, the answer to the question is yes.", "yes"),
    ("No. The trial found no difference between the groups.", "no"),
    ("It is unclear from the abstract.", "maybe"),
    ("The evidence is inconclusive, so maybe.", "maybe"),
    ("Final decision: NO", "no"),
    ("My answer would be 'yes'.", "yes"),
    ("Based on the study, yes, bedside ultrasound helps.", "yes"),
    ('The answer is "maybe" because the sample was small.', "maybe"),
    ("The answer is: no. Yes, both groups were treated the same way.", "no"),  # a statement with "is:" beats other mentions
]


@pytest.mark.parametrize(("text", "letter"), SMALL_MODEL_MEDQA)
def test_small_model_multiple_choice_styles(text, letter):
    assert parse_choice(text, options_from_input(INPUT)).value == letter


@pytest.mark.parametrize(("text", "decision"), SMALL_MODEL_PUBMEDQA)
def test_small_model_yes_no_maybe_styles(text, decision):
    assert parse_decision(text).value == decision


@pytest.mark.parametrize("text", ["I'm not sure, it could be A or B.", "Both ampicillin and ceftriaxone are reasonable.", "The answer is E."])
def test_small_model_non_answers_stay_unparsed(text):
    parsed = parse_choice(text, OPTIONS)
    assert not parsed.ok and parsed.diagnostics["reason"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(_messy, st.binary(max_size=40).map(lambda b: b.decode("latin-1"))), reference=st.one_of(st.none(), st.just(""), st.text(max_size=20)))
def test_label_and_set_parsers_never_raise(text, reference):
    from medtuned_core.kits.labels import parse_label, parse_label_set

    aliases = {"Positive": ("yes", "associated"), "Negative": ("no", "not associated")}
    label = parse_label(text, aliases)
    assert (label.ok and label.value in aliases) or (not label.ok and label.value is None)
    codes = {"PS": "sustaining", "A": "angiogenesis", "IM": "invasion"}
    labels = parse_label_set(text, {"sustaining": (), "angiogenesis": (), "invasion": (), "none": ("no hallmark",)}, reference, codes=codes, none="none")
    assert (labels.ok and isinstance(labels.value, list)) or (not labels.ok and labels.value is None)
