"""The tagging kit's output parser: messy real-world answers, alignment by position, diagnostics, never raising."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medtuned_core.kits.tagging.parse import align, extract_items, gold_tokens, parse_tags
from medtuned_core.kits.tagging.scheme import TagScheme, tag_set
from medtuned_core.types import Parsed

I2B2_2012_TAGS = tag_set("iob2", ("PROBLEM", "TEST", "TREATMENT", "CLINICAL_DEPT", "EVIDENTIAL", "OCCURRENCE"))
UNTYPED = TagScheme(("B", "I", "O"), False)
TYPED = TagScheme(I2B2_2012_TAGS, True)

TOKENS = "the cancer of the breast and the cancer : a rare cancer".split()
TAGS = "O B O O B O O B O O O B".split()
INPUT = " ".join(TOKENS)
REFERENCE = "\n".join(f"{t} : {g}" for t, g in zip(TOKENS, TAGS, strict=True))


def lines(fmt: str, pairs=None) -> str:
    return "\n".join(fmt.format(t=t, g=g) for t, g in (pairs if pairs is not None else zip(TOKENS, TAGS, strict=True)))


def parse(text: str, input: str | None = INPUT, reference: str | None = REFERENCE, scheme: TagScheme = UNTYPED) -> Parsed:
    return parse_tags(text, input, reference, scheme)


PAIRS = list(zip(TOKENS, TAGS, strict=True))
MESSY = {
    "exact": REFERENCE,
    "text before the answer": "Sure! Here are the labels:\n\n" + REFERENCE + "\n\nLet me know if you need more.",
    "word: tag": lines("{t}: {g}"),
    "word:tag": lines("{t}:{g}"),
    "typed tags": lines("{t} : {g}-Disease").replace("O-Disease", "O"),
    "(B) form": " ".join(f"{t} ({g})" for t, g in PAIRS),
    "[B] form": lines("{t} [{g}]"),
    "arrows": lines("{t} -> {g}"),
    "tabs": lines("{t}\t{g}"),
    "CoNLL": lines("{t} {g}"),
    "bullets": lines("- {t} : {g}"),
    "numbered": "\n".join(f"{i + 1}. {t}: {g}" for i, (t, g) in enumerate(PAIRS)),
    "label words": lines("{t} : {g}").replace(": B", ": Begin").replace(": I", ": Inside").replace(": O", ": Outside"),
    "explanations": "\n".join(f"{t} : {g}" + (" (part of a disease name)" if g != "O" else "") for t, g in PAIRS),
    "merged lines": " ".join(f"{t} : {g}" for t, g in PAIRS[:6]) + "\n" + ", ".join(f"{t} : {g}" for t, g in PAIRS[6:]),
    "two answer blocks": "Answer:\n" + REFERENCE + "\n\nFinal answer:\n" + REFERENCE,
    "answer after a second header": "### Output:\n" + REFERENCE + "\n### Output:\n" + REFERENCE,
    "re-cased words": REFERENCE.replace("cancer :", "Cancer :").replace("the :", "The :"),
    "two lines swapped": lines("{t} : {g}", PAIRS[:3] + [PAIRS[4], PAIRS[3]] + PAIRS[5:]),
    "bare tags": "\n".join(TAGS),
}


@pytest.mark.parametrize("name", sorted(MESSY))
def test_messy_answers_give_the_gold_tags(name):
    parsed = parse(MESSY[name])
    assert parsed.ok, parsed.diagnostics
    assert parsed.value == TAGS, (name, parsed.diagnostics)
    assert parsed.diagnostics["aligned"] == len(TOKENS)
    assert parsed.diagnostics["missing"] == 0 and parsed.diagnostics["invalid"] == 0


def test_diagnostics_of_messy_answers():
    assert parse(MESSY["exact"]).diagnostics == {
        "tokens": 12,
        "lines": 12,
        "aligned": 12,
        "substituted": 0,
        "moved": 0,
        "missing": 0,
        "extra": 0,
        "invalid": 0,
        "blocks": 1,
    }
    two = parse(MESSY["two answer blocks"]).diagnostics
    assert (two["blocks"], two["extra"]) == (2, 12)
    swapped = parse(MESSY["two lines swapped"]).diagnostics
    assert swapped["moved"] == 1 and swapped["extra"] == 0
    assert parse(MESSY["re-cased words"]).diagnostics["substituted"] == 0  # case folding, not substitution


def test_prompt_text_is_not_special():
    # The evaluator decodes only generated tokens, so the parser knows no prompt format: section headers and an
    # echoed instruction are lines like any other, and the answer block after them is still read.
    text = "### Answer:\nLabels follow.\n" + REFERENCE + "\n### End"
    parsed = parse(text)
    assert parsed.value == TAGS and parsed.diagnostics["extra"] == 0
    assert "echo" not in parsed.diagnostics


# Answers whose tokens are themselves list markers: the AnatEM example's bullet bug lost the tag of every "-".
BULLET_TOKENS = ["TSH", "-", "R", "*", "\u2022", "3.", "+", "1)", "levels"]
BULLET_TAGS = ["B-Organ", "I-Organ", "I-Organ", "O", "O", "B-Cell", "O", "O", "O"]


def test_tokens_that_are_list_markers_keep_their_tags():
    assert parse_tags("TSH : B-Organ\n- : I-Organ\nR : I-Organ", "TSH - R").value == ["B-Organ", "I-Organ", "I-Organ"]
    pairs = list(zip(BULLET_TOKENS, BULLET_TAGS, strict=True))
    plain = "\n".join(f"{t} : {g}" for t, g in pairs)
    forms = {
        "plain": plain,
        "dash bullets": "\n".join(f"- {t} : {g}" for t, g in pairs),
        "star bullets": "\n".join(f"* {t} : {g}" for t, g in pairs),
        "dot bullets": "\n".join(f"\u2022 {t} : {g}" for t, g in pairs),
        "numbered": "\n".join(f"{k + 1}. {t} : {g}" for k, (t, g) in enumerate(pairs)),
        "numbered, no spaces": "\n".join(f"{k + 1}) {t}: {g}" for k, (t, g) in enumerate(pairs)),
        "prose around": "Here you go:\n" + plain + "\nDone.",
    }
    for name, text in forms.items():
        for reference in (plain, None):
            parsed = parse_tags(text, " ".join(BULLET_TOKENS), reference)
            assert parsed.value == BULLET_TAGS, (name, reference is None, parsed.value, parsed.diagnostics)
            assert parsed.diagnostics["missing"] == 0 and parsed.diagnostics["invalid"] == 0, (name, parsed.diagnostics)


def test_other_schemes_read_their_own_prefixes():
    iobes = TagScheme(tag_set("iobes", ("Organ",)), True, "iobes")
    assert parse_tags("a : S-Organ\nb : B-organ\nc : end-Organ\nd : O", "a b c d", None, iobes).value == ["S-Organ", "B-Organ", "E-Organ", "O"]
    bilou = TagScheme(tag_set("bilou"), False, "bilou")
    assert parse_tags("a : U\nb : B\nc : L\nd : S", "a b c d", None, bilou).value == ["U", "B", "L", "O"]  # S is no BILOU tag
    assert parse_tags("a : U\nb : B\nc : L\nd : S", "a b c d", None, bilou).diagnostics["invalid"] == 1
    assert parse_tags("x : S-Cell\ny : U-Organ", "x y").value == ["S-Cell", "U-Organ"]  # no task: any well-formed tag


def test_repeated_words_are_tagged_by_position_not_by_word():
    # "the" and "cancer" each appear with different tags; a dict keyed by word would give all copies one tag.
    tokens = ["cancer", "and", "the", "cancer", "of", "the", "cancer", "cell"]
    tags = ["B", "O", "O", "O", "O", "O", "B", "I"]
    reference = "\n".join(f"{t} : {g}" for t, g in zip(tokens, tags, strict=True))
    assert parse(reference, " ".join(tokens), reference).value == tags
    # Drop the middle "cancer" line: the others keep their own tags.
    dropped = "\n".join(line for k, line in enumerate(reference.split("\n")) if k != 3)
    parsed = parse(dropped, " ".join(tokens), reference)
    assert parsed.value == tags
    assert (parsed.diagnostics["missing"], parsed.diagnostics["extra"], parsed.diagnostics["aligned"]) == (1, 0, 7)


def test_missing_extra_invalid_and_truncation_are_counted():
    missing_middle = lines("{t} : {g}", PAIRS[:4] + PAIRS[6:])
    parsed = parse(missing_middle)
    assert parsed.value == TAGS[:4] + ["O", "O"] + TAGS[6:]
    assert parsed.diagnostics["missing"] == 2
    extra = REFERENCE.replace("breast : B", "breast : B\nsurgery : O\ntumour : B")
    assert parse(extra).value == TAGS and parse(extra).diagnostics["extra"] == 2
    invalid = REFERENCE.replace("breast : B", "breast : DISEASE").replace("rare : O", "rare : X")
    parsed = parse(invalid)
    assert parsed.value == [("O" if t in ("breast", "rare") else g) for t, g in PAIRS]
    assert parsed.diagnostics["invalid"] == 2 and parsed.ok
    truncated = parse(REFERENCE[: REFERENCE.index("and : O") + 9])  # "...breast : B\nand : O\nt": cut inside a line
    assert truncated.value == TAGS[:6] + ["O"] * 6
    assert truncated.diagnostics["missing"] == 6


def test_unreadable_answers_are_unparsed_with_all_o():
    for text in ("The sentence mentions breast cancer.", "", "\n\n", "### Instruction:\nb : B", "O\nB"):
        parsed = parse(text)
        assert not parsed.ok, text
        assert parsed.value == ["O"] * len(TOKENS)
        assert parsed.diagnostics["missing"] == len(TOKENS)
    assert not parse(None).ok  # type: ignore[arg-type]


def test_typed_labels_are_canonicalised():
    reference = "chest : B-PROBLEM\npain : I-PROBLEM\nCT : B-TEST\nnoted : B-EVIDENTIAL"
    text = "chest : b-problem\npain : I_PROBLEM\nCT : B-TESTS\nnoted : B"
    parsed = parse(text, "chest pain CT noted", reference, TYPED)
    assert parsed.value == ["B-PROBLEM", "I-PROBLEM", "O", "O"]
    assert parsed.diagnostics["invalid"] == 2
    assert TYPED.canonical("Outside") == "O" and TYPED.canonical("B-CLINICAL_DEPT") == "B-CLINICAL_DEPT"
    assert UNTYPED.canonical("B-Disease") == "B" and UNTYPED.canonical("I-PROBLEM") == "I" and UNTYPED.canonical("B-") is None


def test_gold_parse_without_reference_and_standalone_parse():
    assert parse(REFERENCE, INPUT, None).value == TAGS  # the core's gold parse: input, no reference
    standalone = parse("x : B\ny : I\nnote: see", None, None)
    assert standalone.value == ["B", "I", "O"] and standalone.diagnostics["invalid"] == 1
    assert gold_tokens(REFERENCE, None) == TOKENS
    assert gold_tokens("not a gold answer", INPUT) == TOKENS  # a malformed reference falls back to the input


def test_merged_line_keeps_untagged_words_in_sequence():
    items, blocks = extract_items("inherited breast : B\nand : O", UNTYPED)
    assert [(i.word, i.raw) for i in items] == [("inherited", None), ("breast", "B"), ("and", "O")]
    assert blocks == 1
    parsed = parse("cancer of the : O\nbreast : B", "cancer of the breast", "cancer : B\nof : O\nthe : O\nbreast : B")
    assert parsed.value == ["O", "O", "O", "B"] and parsed.diagnostics["missing"] == 2


def test_alignment_is_positional_for_substitutions():
    mapping, substituted, moved = align(["a", "b", "c"], [type("I", (), {"word": w})() for w in ("a", "x", "c")])
    assert mapping == [0, 1, 2] and substituted == 1 and moved == 0


# -- properties ------------------------------------------------------------------------------------------

_WORDS = ("the", "cancer", "of", "B", "I", "O", ":", "-", "(", "IL", "2", "breast", "x:y", "##", "###", "Output", "B-PROBLEM", "1.")
_sentences = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(["B", "I", "O"])), min_size=1, max_size=40)
_FRAGMENTS = (
    " : ",
    ":",
    "B",
    "I",
    "O",
    "B-",
    "I-PROBLEM",
    "\n",
    "###",
    "### Output:",
    "### Input:",
    "(",
    ")",
    "[",
    "\t",
    " ",
    "-",
    "->",
    ",",
    "cancer",
    "the",
    "1.",
    "\u00a0",
    "\u2019",
    "é",
)


def _junk(seed: int) -> str:
    """Answer-like junk assembled from fragments (hypothesis's own ``st.text`` covers arbitrary unicode)."""
    rng = random.Random(seed)
    return "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 80)))


def _random_sentence(seed: int, typed: bool) -> list[tuple[str, str]]:
    """A sentence with repeated words and tricky tokens; built from a seed, which keeps hypothesis's per-example cost low."""
    rng = random.Random(seed)
    labels = I2B2_2012_TAGS if typed else ("B", "I", "O")
    return [(rng.choice(_WORDS), rng.choice(labels)) for _ in range(rng.randint(1, 40))]


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32), text=st.text(max_size=300), where=st.integers(0, 10_000), typed=st.booleans())
def test_never_raises_and_returns_one_valid_tag_per_token(seed, text, where, typed):
    scheme = TYPED if typed else UNTYPED
    sentence = _random_sentence(seed, typed)
    tokens = [w for w, _ in sentence]
    reference = "\n".join(f"{w} : {t}" for w, t in sentence)
    cut = where % (len(reference) + 1)
    junk = _junk(seed)
    for candidate in (text, junk, reference[:cut] + text + junk, junk + reference, reference[cut:] + "\n" + reference[:cut]):
        parsed = parse_tags(candidate, " ".join(tokens), reference, scheme)
        d = parsed.diagnostics
        assert len(parsed.value) == len(tokens)
        assert set(parsed.value) <= set(scheme.labels)
        assert d["aligned"] + d["extra"] == d["lines"]
        assert d["missing"] + d["invalid"] <= len(tokens) and d["aligned"] <= len(tokens)
        assert parsed.ok == (d["aligned"] > 0)
    assert isinstance(parse_tags(text, None, None, scheme), Parsed)
    assert isinstance(parse_tags(text, text, text, scheme), Parsed)


@settings(max_examples=500, deadline=None)
@given(sentence=_sentences)
def test_exact_answers_round_trip_even_with_repeated_words(sentence):
    tokens = [w for w, _ in sentence]
    reference = "\n".join(f"{w} : {t}" for w, t in sentence)
    assert parse_tags(reference, " ".join(tokens), reference, UNTYPED).value == [t for _, t in sentence]


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_deleted_and_shuffled_lines_of_distinct_words(data):
    n = data.draw(st.integers(1, 30))
    tokens = [f"w{k}" for k in range(n)]
    tags = data.draw(st.lists(st.sampled_from(["B", "I", "O"]), min_size=n, max_size=n))
    reference = "\n".join(f"{w} : {t}" for w, t in zip(tokens, tags, strict=True))
    kept = sorted(data.draw(st.sets(st.integers(0, n - 1))))
    order = data.draw(st.permutations(kept))
    text = "\n".join(f"{tokens[k]} : {tags[k]}" for k in order)
    parsed = parse_tags(text, " ".join(tokens), reference, UNTYPED)
    assert parsed.value == [tags[k] if k in kept else "O" for k in range(n)]
    assert (parsed.diagnostics["aligned"], parsed.diagnostics["extra"], parsed.diagnostics["missing"]) == (len(kept), 0, n - len(kept))


def test_long_runs_without_spaces_do_not_take_quadratic_time():
    # A guard on complexity, not a speed target: before the word-boundary anchors and the token cap, 20,000
    # characters of "a," took 11 s; 100,000 would take minutes. Linear parsing needs well under a second each.
    import time

    start = time.perf_counter()
    for text in ("a," * 50_000, ",:" * 50_000, "a" * 100_000, "(a" * 50_000, "a-" * 50_000):
        assert not parse(text).ok
    assert time.perf_counter() - start < 20
