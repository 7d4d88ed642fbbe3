"""Training data: response-only labels, length report, token-budget batches, packing masks and packed == padded loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from medtuned_core.errors import CorpusFormatError, MedTunedError  # noqa: E402
from medtuned_core.prompt import format_record  # noqa: E402
from medtuned_core.testing_models import tiny_llama, tiny_rows, tiny_tokenizer  # noqa: E402
from medtuned_core.train.attention import ATTENTION_NAME, restore_attention, segment_bounds, use_packed_attention  # noqa: E402
from medtuned_core.train.data import (  # noqa: E402
    IGNORE_INDEX,
    Example,
    ExampleDataset,
    TokenBudgetBatchSampler,
    apply_length_limit,
    batch_cost,
    encode_rows,
    make_collator,
    plan_batches,
    read_rows,
    useful_share,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tokenizer():
    tok = tiny_tokenizer()
    tok.padding_side = "right"
    return tok


@pytest.fixture(scope="module", params=["sdpa", "per-example sdpa"])
def model(request, tokenizer):
    """Both attention paths for packed rows: transformers' block-diagonal mask, and medtuned's per-example SDPA."""
    m = tiny_llama(tokenizer, seed=1)
    assert m.config.use_cache  # the inference default: the packed batch itself must turn the cache off
    if request.param != "sdpa":
        assert use_packed_attention(m) and m.config._attn_implementation == ATTENTION_NAME
    m.eval()
    return m


@pytest.fixture(scope="module")
def examples(tokenizer) -> list[Example]:
    return encode_rows(tokenizer, tiny_rows(12, seed=5))


def test_labels_cover_exactly_the_response_and_eos(tokenizer) -> None:
    rows = tiny_rows(9, seed=2)
    for row, ex in zip(rows, encode_rows(tokenizer, rows), strict=True):
        prompt, response = format_record(row)
        prompt_ids = tokenizer(prompt)["input_ids"]
        assert ex.input_ids[: len(prompt_ids)] == prompt_ids  # what evaluation feeds the model
        assert ex.labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)  # no label from a prompt token
        answer = ex.labels[len(prompt_ids) :]
        assert IGNORE_INDEX not in answer and answer == ex.input_ids[len(prompt_ids) :]
        assert answer[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(answer[:-1]) == response
        assert ex.task == row["task"]


def test_read_rows_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    good = {"instruction": "Do it.", "input": "x", "output": "y"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"instruction": "Do it.", "input": "x"}) + "\n")
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:2: field 'output' missing"):
        read_rows(path)
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "input": 3}) + "\n")
    with pytest.raises(CorpusFormatError, match=r"train\.jsonl:3: field 'input' not text"):
        read_rows(path)
    path.write_text("")
    with pytest.raises(MedTunedError, match="no rows"):
        read_rows(path)
    with pytest.raises(MedTunedError, match="not found"):
        read_rows(tmp_path / "absent.jsonl")


def test_length_defaults_to_longest_row_and_nothing_is_cut(examples) -> None:
    kept, report = apply_length_limit(examples, 1024, None, "drop")
    assert report.max_seq_length == max(len(e) for e in examples) and report.source == "data"
    assert report.over_limit == 0 and kept == examples


def test_length_capped_by_model_context_and_overlong_rows_reported(examples) -> None:
    context = sorted(len(e) for e in examples)[-3]  # two rows are longer
    kept, report = apply_length_limit(examples, context, None, "drop")
    assert report.source == "model context" and report.max_seq_length == context
    assert report.over_limit == 2 and len(kept) == len(examples) - 2 and sum(report.over_limit_by_task.values()) == 2
    assert "2 rows longer than" in report.summary()
    with pytest.raises(MedTunedError, match="2 rows are longer"):
        apply_length_limit(examples, context, None, "error")
    truncated, report = apply_length_limit(examples, None, context, "truncate")
    assert report.source == "flag" and len(truncated) == len(examples)
    assert max(len(e) for e in truncated) == context
    with pytest.raises(MedTunedError, match="exceeds the model's context"):
        apply_length_limit(examples, 64, 65, "drop")


def test_truncation_drops_rows_whose_prompt_alone_is_too_long(examples) -> None:
    prompt_lengths = [next(i for i, x in enumerate(e.labels) if x != IGNORE_INDEX) for e in examples]
    limit = min(prompt_lengths) + 1
    kept, report = apply_length_limit(examples, None, limit, "truncate")
    assert report.over_limit == len(examples)
    assert 1 <= len(kept) == sum(1 for n in prompt_lengths if n < limit) < len(examples)
    assert all(len(e) <= limit and any(x != IGNORE_INDEX for x in e.labels) for e in kept)
    with pytest.raises(MedTunedError, match="no row fits"):
        apply_length_limit(examples, None, min(prompt_lengths), "truncate")


@pytest.mark.parametrize("padded", [False, True])
def test_plan_batches_respects_rows_and_token_budget(padded: bool) -> None:
    lengths = [30, 200, 45, 120, 80, 10, 300, 64, 64, 5, 150, 90]
    batches = plan_batches(lengths, max_rows=4, max_tokens=400, padded=padded, shuffle=True, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # every row exactly once
    for b in batches:
        assert 1 <= len(b) <= 4 and batch_cost([lengths[i] for i in b], padded) <= 400
    assert batches == plan_batches(lengths, max_rows=4, max_tokens=400, padded=padded, shuffle=True, seed=3)


def test_sampler_reorders_fixed_batches_per_epoch() -> None:
    lengths = list(range(10, 130, 5))
    sampler = TokenBudgetBatchSampler(lengths, max_rows=3, max_tokens=200, padded=False, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert len(first) == len(second) == len(sampler)
    assert first != second and sorted(map(tuple, first)) == sorted(map(tuple, second))
    sampler.set_epoch(0)
    assert list(sampler) == first
    with pytest.raises(MedTunedError, match="exceeds max_tokens_per_batch"):
        TokenBudgetBatchSampler([10, 500], max_rows=2, max_tokens=100, padded=False)


def test_packed_batch_masks(tokenizer, examples) -> None:
    features = [ExampleDataset(examples)[i] for i in range(5)]
    batch = make_collator(tokenizer, packing=True)(features)
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1
    assert batch["use_cache"] is False  # a KV cache would switch off transformers' packed-sequence masking
    assert useful_share(batch) == (sum(len(f["input_ids"]) for f in features),) * 2  # no padding at all
    positions, labels = batch["position_ids"][0].tolist(), batch["labels"][0].tolist()
    start = 0
    for f in features:
        n = len(f["input_ids"])
        assert positions[start : start + n] == list(range(n))  # positions restart for every row
        assert labels[start] == IGNORE_INDEX  # nothing predicts a row's first token from the previous row
        assert labels[start : start + n] == [IGNORE_INDEX] + f["labels"][1:]  # prompt stays masked
        start += n


def test_padded_batch_masks(tokenizer, examples) -> None:
    features = [ExampleDataset(examples)[i] for i in range(5)]
    batch = make_collator(tokenizer, packing=False)(features)
    real, total = useful_share(batch)
    assert real == sum(len(f["input_ids"]) for f in features) and total == 5 * max(len(f["input_ids"]) for f in features)
    assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()


def test_packed_loss_equals_padded_loss(tokenizer, model, examples) -> None:
    features = [ExampleDataset(examples)[i] for i in range(8)]
    with torch.no_grad():
        packed = model(**make_collator(tokenizer, packing=True)(features)).loss
        padded = model(**make_collator(tokenizer, packing=False)(features)).loss
        # Token-weighted mean of each row run alone: equal only if packed rows never see each other.
        total, count = 0.0, 0
        for f in features:
            n = sum(1 for x in f["labels"][1:] if x != IGNORE_INDEX)
            total += model(**make_collator(tokenizer, packing=False)([f])).loss.item() * n
            count += n
    assert packed.item() == pytest.approx(padded.item(), abs=1e-5)
    assert packed.item() == pytest.approx(total / count, abs=1e-5)


def test_packed_rows_do_not_attend_across_boundaries(tokenizer, model, examples) -> None:
    """Changing the first row's tokens must leave the second row's logits unchanged."""
    a, b = ExampleDataset(examples)[0], ExampleDataset(examples)[1]
    changed = {"input_ids": [(t + 7) % len(tokenizer) for t in a["input_ids"]], "labels": a["labels"]}
    collate = make_collator(tokenizer, packing=True)
    with torch.no_grad():
        one = model(**{k: v for k, v in collate([a, b]).items() if k != "labels"}).logits[0, len(a["input_ids"]) :]
        two = model(**{k: v for k, v in collate([changed, b]).items() if k != "labels"}).logits[0, len(a["input_ids"]) :]
    torch.testing.assert_close(one, two, atol=1e-5, rtol=1e-5)


def test_segment_bounds_follow_restarting_positions() -> None:
    positions = torch.tensor([[0, 1, 2, 0, 1, 0, 0, 1, 2, 3]])
    assert segment_bounds(positions) == [(0, 3), (3, 5), (5, 6), (6, 10)]
    assert segment_bounds(torch.arange(5).unsqueeze(0)) == [(0, 5)]


def test_per_example_attention_is_not_saved_in_exports(tokenizer, tmp_path: Path) -> None:
    m = tiny_llama(tokenizer)
    use_packed_attention(m)
    restore_attention(m)
    assert m.config._attn_implementation == "sdpa"
    use_packed_attention(m)
    m.save_pretrained(tmp_path)
    assert ATTENTION_NAME not in (tmp_path / "config.json").read_text()
