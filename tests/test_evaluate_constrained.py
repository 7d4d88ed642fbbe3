"""Score-mode tagging: the plan reproduces the trained token ids, and every algorithm returns exactly the
answer of plain constrained greedy decoding (checked against an oracle that reruns the whole model per choice)."""

from __future__ import annotations

import random

import evaluate_helpers as helpers
import pytest
import torch

from medtuned_core.evaluate.constrained import Cursor, Guesser, TaggingHint, TaggingHintError, plan_tagging, tag_batch
from medtuned_core.evaluate.prefix import PrefixCache, common_prefix_length, instruction_block
from medtuned_core.prompt import format_prompt

WORDS = "the patient had mild fever and acute renal failure after insulin dose no cough today biopsy showed tumour".split()
INSTRUCTION = "Label every token with B, I or O for findings."
OTHER_INSTRUCTION = "Tag the words of this clinical note: B opens a finding, I continues it, O marks anything else."


def sentences(n: int, seed: int = 0, longest: int = 12) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(WORDS) for _ in range(rng.randint(1, longest))] for _ in range(n)]


def plans_for(sents, labels=("B", "I", "O")):
    """Rows alternate between two instructions, so a batch mixes shared prefixes of different lengths."""
    tok = helpers.tokenizer()
    instructions = (INSTRUCTION, OTHER_INSTRUCTION)
    return [plan_tagging(tok, format_prompt(instructions[i % 2], " ".join(s)), TaggingHint(tuple(s), tuple(labels))) for i, s in enumerate(sents)]


@torch.inference_mode()
def oracle(model, plan) -> list[str]:
    """Constrained greedy the slow, obvious way: the full model on prompt + decided tokens for every choice."""
    cursor, decided = Cursor(plan), []
    while True:
        decided += cursor.forced()
        if cursor.done:
            return cursor.labels
        logits = model(torch.tensor([plan.prompt_ids + decided])).logits[0, -1]
        allowed = cursor.allowed()
        token = allowed[int(torch.argmax(logits[list(allowed)]))]
        decided.append(token)
        cursor.take(token)


def test_plan_reproduces_the_training_tokenization():
    tok = helpers.tokenizer()
    for plan in plans_for(sentences(8, seed=1)):
        for label in plan.hint.labels:
            answer = plan.hint.render([label] * len(plan.hint.tokens))
            trained = tok(answer, add_special_tokens=False)["input_ids"]  # how train/data.py encodes the answer
            assert [t for line in plan.lines for t in line.ids[label]] == trained
        assert plan.prompt_ids == tok(plan.prompt)["input_ids"] and " ".join(plan.hint.tokens) in plan.prompt
        assert plan.context_fallbacks == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_algorithm_equals_the_oracle(seed):
    model = helpers.model(seed=seed, dtype=torch.float64)
    plans = plans_for(sentences(7, seed=seed))
    expected = [oracle(model, p) for p in plans]
    assert len({tuple(e) for e in expected}) > 1, "a degenerate model would not test much"
    for lookahead in (0, 1, 3, None):
        for prefixes, cut in (
            (None, {}),
            (PrefixCache(), {"width_quantile": 0.5}),
            (PrefixCache(), {"chunk_tokens": 7}),
            (PrefixCache(), {"chunk_tokens": 7, "adaptive": True}),
        ):
            out = tag_batch(model, plans, lookahead=lookahead, prefixes=prefixes, tokenizer=helpers.tokenizer(), pad_id=helpers.tokenizer().pad_token_id, **cut)
            assert [o.labels for o in out] == expected, (lookahead, prefixes is not None, cut)
            assert all(o.exact for o in out)
            assert [o.text for o in out] == [p.hint.render(e) for p, e in zip(plans, expected, strict=True)]


def test_multi_token_labels_and_a_label_that_prefixes_another():
    model = helpers.model(seed=3, dtype=torch.float64)
    for labels in (("B-PROBLEM", "I-PROBLEM", "B-TEST", "I-TEST", "O"), ("B", "B-X", "O")):
        plans = plans_for(sentences(5, seed=4, longest=6), labels=labels)
        if labels[1] == "B-X":  # "B" is a complete label that "B-X" extends: ending the line is a choice
            assert any(ids in line.label_of and line.children.get(ids) for p in plans for line in p.lines for ids in line.label_of)
        expected = [oracle(model, p) for p in plans]
        for lookahead, cut in ((0, None), (None, None), (None, 5)):
            out = tag_batch(model, plans, lookahead=lookahead, prefixes=PrefixCache(), tokenizer=helpers.tokenizer(), chunk_tokens=cut)
            assert [o.labels for o in out] == expected


def test_verify_and_fix_needs_fewer_forward_calls_than_one_per_word():
    model = helpers.model(seed=0)
    plans = plans_for(sentences(6, seed=5, longest=14))
    incremental = tag_batch(model, plans, lookahead=0)
    verified = tag_batch(model, plans, lookahead=None)
    assert [o.labels for o in verified] == [o.labels for o in incremental]
    assert sum(o.passes for o in verified) < sum(o.passes for o in incremental)
    # One call per choice point (plus the first), for single-token labels: one per word.
    assert [o.passes for o in incremental] == [len(p.hint.tokens) + 1 for p in plans]


def test_max_passes_is_an_inexact_shortcut_and_says_so():
    model = helpers.model(seed=1)
    plans = plans_for(sentences(5, seed=6, longest=12))
    out = tag_batch(model, plans, lookahead=None, max_passes=1)
    assert all(o.passes == 1 for o in out)
    assert all(len(o.labels) == len(p.hint.tokens) for o, p in zip(out, plans, strict=True))
    assert not all(o.exact for o in out)


def test_guesses_follow_what_the_model_answered_so_far():
    guesser = Guesser()
    hint = TaggingHint(("acute", "fever", "noted"), ("B", "I", "O"))
    assert guesser.initial(hint) == ["O", "O", "O"]
    assert Guesser().default(("YES", "NO")) == "YES"
    guesser.learn(hint, ["B", "I", "O"])
    assert guesser.initial(hint) == ["O", "O", "O"]  # seen once: not yet trusted
    guesser.learn(hint, ["B", "I", "O"])
    assert guesser.initial(hint) == ["B", "I", "O"]
    guesses = ["O", "O", "O"]
    guesser.refine(TaggingHint(("mild", "fever", "x"), ("B", "I", "O")), guesses, 0, "B", {2: "B"})
    assert guesses == ["O", "I", "B"]  # "fever" after B is known; line 2 keeps the model's last choice


def test_empty_sentence_and_bad_hints():
    (out,) = tag_batch(helpers.model(), plans_for([[]]))
    assert out.labels == [] and out.text == ""
    with pytest.raises(TaggingHintError):
        TaggingHint.from_row({"tokens": ["a"]})
    with pytest.raises(TaggingHintError):
        TaggingHint.from_row({"tokens": ["a"], "labels": ["B"], "line": "{token}"})
    hint = TaggingHint.from_row({"tokens": ["a", "b"], "labels": ["X", "Y", "X"], "line": "{label}: {token}", "sep": " | "})
    assert hint.labels == ("X", "Y") and hint.render(["X", "Y"]) == "X: a | Y: b"


def test_label_first_line_template_is_exact_too():
    model = helpers.model(seed=2, dtype=torch.float64)
    tok = helpers.tokenizer()
    plans = [
        plan_tagging(tok, format_prompt(INSTRUCTION, " ".join(s)), TaggingHint(tuple(s), ("B", "I", "O"), "[{label}] {token}", "\n"))
        for s in sentences(4, seed=8)
    ]
    expected = [oracle(model, p) for p in plans]
    assert [o.labels for o in tag_batch(model, plans, lookahead=None)] == expected


def test_instruction_blocks_are_shared_and_counted():
    tok = helpers.tokenizer()
    plans = plans_for(sentences(4, seed=9))
    cache = PrefixCache()
    shared = cache.shared_lengths(tok, [p.prompt for p in plans], [p.prompt_ids for p in plans])
    assert shared[0] == shared[2] != shared[1] == shared[3] and min(shared) > 8
    assert tok.decode(plans[1].prompt_ids[: shared[1]]).endswith("### Input:\n")
    model = helpers.model()
    tag_batch(model, plans, prefixes=cache, tokenizer=tok)
    tag_batch(model, plans, prefixes=cache, tokenizer=tok)
    assert cache.tokens_saved >= sum(shared)  # the second batch ran no instruction token again
    assert PrefixCache(enabled=False).shared_lengths(tok, [plans[0].prompt], [plans[0].prompt_ids]) == [0]


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[5], [6]]) == 0
    assert common_prefix_length([]) == 0
    assert instruction_block(format_prompt("Do it.", "text")) == "### Instruction:\nDo it.\n\n### Input:\n"
    assert instruction_block(format_prompt("Do it.")) == ""


TYPES = ("drug", "dose", "organ", "finding", "test", "gene", "cell", "device", "lab", "time", "route", "scan", "sign", "unit", "site", "risk")
TYPED = ("O", *(f"{p}-{t}" for t in TYPES for p in "BIES"))  # 65 labels, most of them several tokens long


def test_65_typed_labels_are_exact_and_self_speculation_saves_passes():
    model = helpers.model(seed=4, dtype=torch.float64)
    plans = plans_for(sentences(4, seed=11, longest=7), labels=TYPED)
    assert max(len(ids) for line in plans[0].lines for ids in line.ids.values()) > 2
    expected = [oracle(model, p) for p in plans]
    runs = {}
    for name, options in {"incremental": {"lookahead": 0}, "verify": {}, "adaptive": {"adaptive": True}, "chunked": {"chunk_tokens": 9}}.items():
        out = tag_batch(model, plans, prefixes=PrefixCache(), tokenizer=helpers.tokenizer(), **options)
        assert [o.labels for o in out] == expected, name
        runs[name] = sum(o.passes for o in out)
    assert runs["verify"] < runs["incremental"]


def test_adaptive_depth_follows_the_guesses():
    from medtuned_core.evaluate.constrained import MIN_DEPTH, next_depth

    assert next_depth(None, 3, True, None) == 3  # as far as the guesses held
    assert next_depth(5, 0, True, None) == MIN_DEPTH  # still one self-speculated guess after a miss
    assert next_depth(2, 2, False, None) == 5 and next_depth(40, 40, False, None) is None  # grows back to unbounded
    assert next_depth(2, 2, False, 3) == 3 and next_depth(None, 9, False, 4) == 4  # never past lookahead
    assert next_depth(7, 1, True, 0) == 0  # lookahead 0 is incremental decoding


def test_line_memo_gives_the_same_plans_and_is_reused():
    tok = helpers.tokenizer()
    sents = sentences(6, seed=12, longest=8)
    memo: dict = {}
    fresh = plans_for(sents, labels=TYPED)
    shared = [plan_tagging(tok, p.prompt, p.hint, memo=memo) for p in fresh]
    assert [[line.ids for line in p.lines] for p in shared] == [[line.ids for line in p.lines] for p in fresh]
    words = {(i > 0, w) for s in sents for i, w in enumerate(s)}
    assert len(memo) == len(words)  # one entry per word (first line or not), whatever the number of rows
    again = plan_tagging(tok, fresh[0].prompt, fresh[0].hint, memo=memo)
    assert {id(line) for line in again.lines} <= {id(trie) for trie in memo.values()}  # reused, not rebuilt
