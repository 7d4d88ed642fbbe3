"""Free generation (batched, left-padded, stop at the next ### block) and ranking of choices by log-likelihood."""

from __future__ import annotations

import importlib.util
import itertools
import re

import evaluate_helpers as helpers
import pytest
import torch

from medtuned_core.evaluate.engine import split_by_cost
from medtuned_core.evaluate.generate import budget, generate_batch
from medtuned_core.evaluate.prefix import PrefixCache
from medtuned_core.evaluate.ranking import choice_ids, rank_batch
from medtuned_core.prompt import ALPACA_FORMAT, format_prompt

PROMPTS = [
    format_prompt("Does the note mention a drug or finding? Answer yes or no.", "mild fever after the scan"),
    format_prompt("Does the note mention a drug or finding? Answer yes or no.", "no"),
    format_prompt("Name the first drug or finding word in the note, or none.", "the patient was noted with acute renal failure and nausea"),
]


def test_batched_left_padded_generation_equals_one_prompt_at_a_time():
    model, tok = helpers.model(seed=0), helpers.tokenizer()
    batched = generate_batch(model, tok, PROMPTS, max_new_tokens=12)
    alone = [generate_batch(model, tok, [p], max_new_tokens=12)[0] for p in PROMPTS]
    assert batched == alone
    assert all("\n###" not in text for text in batched)
    assert tok.padding_side == "right" or tok.padding_side == "left"  # restored, whatever it was


def test_stop_string_and_budget():
    assert ALPACA_FORMAT.clean("B\nI\n### Instruction:\nmore") == "B\nI"
    assert ALPACA_FORMAT.clean("plain answer") == "plain answer"
    assert budget(100) == 133 and budget(0) == 8 and budget(10_000, cap=512) == 512


@torch.inference_mode()
def reference_logprob(model, tok, prompt: str, choice: str) -> float:
    """log P(choice + EOS | prompt) from one plain forward pass, no cache."""
    prompt_ids = tok(prompt)["input_ids"]
    ids = choice_ids(tok, choice)
    logits = model(torch.tensor([prompt_ids + ids])).logits[0].double().log_softmax(-1)
    return float(sum(logits[len(prompt_ids) - 1 + j, t] for j, t in enumerate(ids)))


def test_ranking_scores_are_the_sequence_log_likelihoods():
    model, tok = helpers.model(seed=1, dtype=torch.float64), helpers.tokenizer()
    choices = [["yes", "no"], ["yes", "no", "maybe not"], ["fever", "renal failure", "none"]]
    # call_tokens=1: prompts of different lengths are fed in separate calls and their caches joined (CPU path).
    for prefixes, max_rows, call_tokens in itertools.product((None, PrefixCache()), (None, 2), (None, 1)):
        out = rank_batch(model, tok, PROMPTS, choices, prefixes=prefixes, max_rows=max_rows, call_tokens=call_tokens)
        for prompt, options, result in zip(PROMPTS, choices, out, strict=True):
            expected = {c: reference_logprob(model, tok, prompt, c) for c in options}
            assert result.scores.keys() == expected.keys()
            for c in options:
                assert abs(result.scores[c] - expected[c]) < 1e-6
            assert result.choice == max(expected, key=expected.get)


def test_split_by_cost_pads_only_when_a_call_costs_more():
    assert split_by_cost([10, 11, 12, 400], call_tokens=64) == [3, 4]  # the long row alone: padding 3 rows to 400 costs more than a call
    assert split_by_cost([10, 11, 12, 13], call_tokens=64) == [4]
    assert split_by_cost([10, 11, 12, 13], call_tokens=64, max_rows=3) == [2, 4]  # 2x11 + 2x13 pads less than 3x12 + 13
    assert split_by_cost([], call_tokens=64) == []


def test_choice_ids_end_with_eos():
    tok = helpers.tokenizer()
    assert choice_ids(tok, "yes")[-1] == tok.eos_token_id
    assert choice_ids(tok, "yes")[:-1] == tok("yes", add_special_tokens=False)["input_ids"]


def test_vllm_tagging_regex_fixes_the_form_and_reads_labels_back():
    from medtuned_core.evaluate.constrained import TaggingHint
    from medtuned_core.evaluate.vllm_backend import tagging_regex

    hint = TaggingHint(("a+b", "(x)", "fever"), ("B-PROBLEM", "B", "I", "O"))
    guide, reader = tagging_regex(hint)
    text = hint.render(["B", "I", "B-PROBLEM"])
    assert re.fullmatch(guide, text)
    assert reader.fullmatch(text).groups() == ("B", "I", "B-PROBLEM")
    assert not re.fullmatch(guide, hint.render(["B", "I", "X"]))
    assert not re.fullmatch(guide, "a+b : B\n(x) : I")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="the optional vllm backend is not installed")
def test_vllm_backend_generates_ranks_and_tags(tmp_path):
    from medtuned_core.evaluate.backend import make_backend
    from medtuned_core.evaluate.constrained import TaggingHint
    from medtuned_core.evaluate.request import Request
    from medtuned_core.testing_models import build_tiny_model

    backend = make_backend("vllm", str(build_tiny_model(tmp_path / "model")))
    assert len(backend.generate([Request({}, p) for p in PROMPTS], 8)) == 3
    ranked = backend.rank([Request({}, p, method="rank", choices=["yes", "no"]) for p in PROMPTS[:2]])
    assert all(r.choice in ("yes", "no") for r in ranked)
    (tagged,) = backend.tag([Request({}, PROMPTS[0], method="tag", hint=TaggingHint(("mild", "fever"), ("B", "I", "O")))])
    assert len(tagged.labels) == 2 and tagged.exact


def test_score_mode_uses_only_what_the_backend_can_do():
    """A row's method comes from its hints AND the backend's capabilities: a generate-only backend
    (a hosted API without log-probabilities, say) generates and parses even in score mode."""
    from medtuned_core.evaluate.runner import choose_method

    tagging = {"tokens": ["a"], "labels": ["B", "I", "O"]}
    assert choose_method({"tagging": tagging}, "score")[0] == "tag"
    assert choose_method({"choices": ["yes", "no"]}, "score")[0] == "rank"
    assert choose_method({"tagging": tagging}, "score", {"generate", "rank"})[0] == "generate"
    assert choose_method({"choices": ["yes", "no"]}, "score", {"generate"})[0] == "generate"
    assert choose_method({"choices": ["yes", "no"]}, "generate")[0] == "generate"


def test_vllm_parallel_options_pass_through_to_the_engine():
    """--tensor-parallel-size runs in one process; --data-parallel-size needs torchrun with DP x TP processes."""
    from medtuned_core.errors import MedTunedError
    from medtuned_core.evaluate.vllm_backend import engine_options

    assert engine_options({"tensor_parallel_size": "4", "gpu_memory_utilization": "0.8"}) == {"tensor_parallel_size": 4, "gpu_memory_utilization": 0.8}
    both = engine_options({"tensor_parallel_size": 2, "data_parallel_size": 4}, world_size=8)
    assert both == {"tensor_parallel_size": 2, "data_parallel_size": 4, "distributed_executor_backend": "external_launcher"}
    with pytest.raises(MedTunedError, match="torchrun --nproc_per_node 8"):
        engine_options({"tensor_parallel_size": 2, "data_parallel_size": 4}, world_size=1)
    with pytest.raises(MedTunedError, match="expected int"):
        engine_options({"tensor_parallel_size": "two"})
