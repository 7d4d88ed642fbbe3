"""Prompt formats: Alpaca byte for byte as before (pinned ids), the chat template through training and evaluation
(one BOS, answers ended and scored with the end-of-turn token, no user-turn token under the loss), the rule that
picks a format, and the build's ``messages`` column matching what chat training encodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import evaluate_helpers as helpers  # noqa: E402

from medtuned_core.errors import MedTunedError  # noqa: E402
from medtuned_core.evaluate import evaluate  # noqa: E402
from medtuned_core.evaluate.constrained import Cursor, TaggingHint, plan_tagging, tag_batch  # noqa: E402
from medtuned_core.evaluate.generate import generate_batch  # noqa: E402
from medtuned_core.evaluate.prefix import PrefixCache  # noqa: E402
from medtuned_core.evaluate.ranking import rank_batch  # noqa: E402
from medtuned_core.evaluate.request import Request  # noqa: E402
from medtuned_core.prompt import (  # noqa: E402
    ALPACA_FORMAT,
    FORMAT_RECORD,
    choose_format,
    encode_prompts,
    format_prompt,
    make_format,
    recorded_format,
    write_format_record,
)
from medtuned_core.render import alpaca  # noqa: E402
from medtuned_core.testing_models import tiny_llama, tiny_rows, tiny_tokenizer  # noqa: E402
from medtuned_core.train.data import IGNORE_INDEX, PackedCollator, encode_rows, useful_share  # noqa: E402
from medtuned_core.train.recipe import make_config  # noqa: E402

torch.set_num_threads(1)

# tiny_rows(3, seed=11)[1], a yes/no row, as MedTuned encoded it before prompt formats existed (commit 4f8f76b).
PINNED_ROW = tiny_rows(3, seed=11)[1]
PINNED_PROMPT = (
    "### Instruction:\nDoes the note mention a drug or finding? Answer yes or no.\n\n### Input:\n"
    "no cough glucose daily after tumour before on in aspirin the dose on in was signs biopsy\n\n### Output:\n"
)
PINNED_PROMPT_IDS = [
    int(i)
    for i in (
        "271 318 29 202 39 82 319 286 294 322 287 292 266 315 285 317 34 224 36 277 90 263 224 342 285 275 17 202 202 271 313 29 202 81 82 "
        "343 321 74 75 224 383 283 375 331 224 367 345 349 295 266 86 339 286 373 349 295 351 361 305 76 82 83 86 92 202 202 271 316 29 202"
    ).split()
]
PINNED_ANSWER_IDS = [342, 2]  # "yes", EOS


@pytest.fixture(scope="module")
def plain():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def chat_tok():
    return tiny_tokenizer(chat=True)


@pytest.fixture(scope="module")
def chat(chat_tok):
    return make_format("chat", chat_tok)


def test_alpaca_text_and_ids_are_pinned(plain):
    assert PINNED_ROW["output"] == "yes"
    assert (
        ALPACA_FORMAT.prompt(PINNED_ROW["instruction"], PINNED_ROW["input"]) == format_prompt(PINNED_ROW["instruction"], PINNED_ROW["input"]) == PINNED_PROMPT
    )
    for example in (encode_rows(plain, [PINNED_ROW])[0], encode_rows(plain, [PINNED_ROW], make_format("alpaca"))[0]):
        assert example.input_ids == PINNED_PROMPT_IDS + PINNED_ANSWER_IDS
        assert example.labels == [IGNORE_INDEX] * len(PINNED_PROMPT_IDS) + PINNED_ANSWER_IDS
    # Evaluation feeds exactly these prompt ids: the request's prompt, encoded as every decoder encodes it.
    request = Request.for_row(PINNED_ROW, ALPACA_FORMAT)
    assert request.prompt == PINNED_PROMPT and request.format is ALPACA_FORMAT
    assert request.messages == [{"role": "user", "content": PINNED_ROW["instruction"] + "\n\n" + PINNED_ROW["input"]}]
    assert list(encode_prompts(ALPACA_FORMAT, plain, [request.prompt])["input_ids"][0]) == PINNED_PROMPT_IDS
    assert plan_tagging(plain, request.prompt, TaggingHint(("x",), ("B", "O"))).prompt_ids == PINNED_PROMPT_IDS
    # A tokenizer that adds BOS (as Llama's) keeps adding it to Alpaca prompts, as before.
    bos_adding = tiny_tokenizer(chat=True)
    assert encode_rows(bos_adding, [PINNED_ROW])[0].input_ids == [bos_adding.bos_token_id, *PINNED_PROMPT_IDS, *PINNED_ANSWER_IDS]


def test_chat_prompt_is_the_template_with_a_single_bos(chat, chat_tok):
    prompt = chat.prompt("Tag it.", "fever and cough")
    expected = chat_tok.apply_chat_template([{"role": "user", "content": "Tag it.\n\nfever and cough"}], tokenize=False, add_generation_prompt=True)
    assert prompt == expected == "<s><|system|>\nYou are a tiny test model.<|end|>\n<|user|>\nTag it.\n\nfever and cough<|end|>\n<|assistant|>\n"
    ids = list(encode_prompts(chat, chat_tok, [prompt])["input_ids"][0])
    assert ids[0] == chat_tok.bos_token_id and ids.count(chat_tok.bos_token_id) == 1
    assert chat_tok(prompt)["input_ids"].count(chat_tok.bos_token_id) == 2  # what letting the tokenizer add BOS would do
    end = chat_tok.convert_tokens_to_ids("<|end|>")
    assert chat.end_ids(chat_tok) == [end] and chat.stop_token_ids(chat_tok) == [end, chat_tok.eos_token_id] and chat.stop_strings == ()
    assert chat.instruction_block(prompt) == "<s><|system|>\nYou are a tiny test model.<|end|>\n<|user|>\nTag it.\n\n"
    assert chat.instruction_block(chat.prompt("Say hi.")) == ""


def test_chat_rows_put_the_loss_on_the_answer_and_its_end_of_turn_only(chat, chat_tok):
    rows = tiny_rows(9, seed=4)
    end = chat_tok.convert_tokens_to_ids("<|end|>")
    user = chat_tok.convert_tokens_to_ids("<|user|>")
    for row, example in zip(rows, encode_rows(chat_tok, rows, chat), strict=True):
        prompt_ids = list(encode_prompts(chat, chat_tok, [chat.prompt(row["instruction"], row["input"])])["input_ids"][0])
        assert example.input_ids[: len(prompt_ids)] == prompt_ids  # what evaluation feeds
        assert user in prompt_ids and example.labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)  # no user-turn token carries loss
        answer = example.labels[len(prompt_ids) :]
        assert IGNORE_INDEX not in answer and answer == example.input_ids[len(prompt_ids) :] and answer[-1] == end
        assert chat_tok.decode(answer) == row["output"] + "<|end|>"
        # The build's `messages` column through the same template is the same text (other tools train on it unchanged).
        rendered = chat_tok.apply_chat_template(alpaca(row)["messages"], tokenize=False)
        assert rendered == chat_tok.decode(example.input_ids) + "\n"
    batch = PackedCollator()([{"input_ids": e.input_ids, "labels": e.labels} for e in encode_rows(chat_tok, rows[:3], chat)])
    real, total = useful_share(batch)
    assert real == total == sum(len(e) for e in encode_rows(chat_tok, rows[:3], chat))  # still padding-free


def test_system_prompt_replaces_the_template_default(chat_tok):
    fmt = make_format("chat", chat_tok, "Answer tersely.")
    prompt = fmt.prompt("Tag it.", "fever")
    assert prompt.startswith("<s><|system|>\nAnswer tersely.<|end|>\n<|user|>\n") and "tiny test model" not in prompt
    assert fmt.messages("Tag it.", "fever", "x")[0] == {"role": "system", "content": "Answer tersely."}


def test_bad_format_settings_are_one_clear_error(plain):
    with pytest.raises(MedTunedError, match="no chat template; use --format alpaca"):
        make_format("chat", plain)
    with pytest.raises(MedTunedError, match="system prompt needs --format chat"):
        make_format("alpaca", plain, "Be brief.")
    with pytest.raises(MedTunedError, match="unknown prompt format 'xml'"):
        make_format("xml", plain)
    with pytest.raises(MedTunedError, match="format must be one of alpaca, chat"):
        make_config("quick", overrides={"format": "xml"})
    with pytest.raises(MedTunedError, match="system_prompt needs format=chat"):
        make_config("quick", overrides={"system_prompt": "Be brief."})


def test_the_format_rule(plain, chat_tok, tmp_path):
    assert choose_format("auto", chat_tok, None) == "chat"
    assert choose_format("auto", plain, None) == "alpaca"
    assert choose_format("auto", None, None) == "chat"  # no local tokenizer: a server applies its own template
    assert choose_format("auto", chat_tok, {"format": "alpaca"}) == "alpaca"  # a MedTuned export says how it was trained
    assert choose_format("alpaca", chat_tok, {"format": "chat"}) == "alpaca"  # an explicit choice wins
    with pytest.raises(MedTunedError, match="unknown prompt format"):
        choose_format("jinja", chat_tok, None)
    export = tmp_path / "export"
    export.mkdir()
    assert recorded_format(export) is None
    write_format_record(export, make_format("chat", chat_tok, "Be brief."), base_model="m")
    assert recorded_format(export) == {"format": "chat", "system_prompt": "Be brief.", "base_model": "m"}
    (export / FORMAT_RECORD).write_text('{"format": "xml"}')
    with pytest.raises(MedTunedError, match=r"medtuned\.json: expected"):
        recorded_format(export)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "README.md").write_text("---\nbase_model: x\ntags:\n- medtuned\n- biomedical\n---\n# MedTuned fine-tune\n")
    assert recorded_format(legacy) == {"format": "alpaca", "system_prompt": None}  # an export from before formats were recorded


def _always_end_model(tokenizer):
    """A model that always predicts ``<|end|>``: only a decoder that stops at the end of turn stops at once."""
    model = tiny_llama(tokenizer).eval()
    model.config.tie_word_embeddings = False
    head = torch.nn.Linear(model.config.hidden_size, len(tokenizer), bias=True)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    with torch.no_grad():
        head.bias[tokenizer.convert_tokens_to_ids("<|end|>")] = 10.0
    model.lm_head = head
    return model


def test_generation_stops_at_the_end_of_turn(chat, chat_tok):
    model = _always_end_model(chat_tok)
    lengths = []
    original = model.generate

    def spy(**kwargs):
        out = original(**kwargs)
        lengths.append(out.shape[1] - kwargs["input_ids"].shape[1])
        return out

    model.generate = spy
    prompt = chat.prompt("Say yes or no.", "fever")
    assert generate_batch(model, chat_tok, [prompt], 6, chat) == [""]
    generate_batch(model, chat_tok, [format_prompt("Say yes or no.", "fever")], 6, ALPACA_FORMAT)
    assert lengths == [1, 6]  # the Alpaca format stops only at EOS


@torch.no_grad()
def test_ranking_and_tagging_in_chat_format_score_the_end_of_turn(chat, chat_tok):
    model = tiny_llama(chat_tok, seed=3).eval().to(torch.float64)
    end = chat_tok.convert_tokens_to_ids("<|end|>")
    prompts = [chat.prompt("Does the note mention a drug? Answer yes or no.", text) for text in ("mild fever", "no signs noted")]
    out = rank_batch(model, chat_tok, prompts, [["yes", "no"]] * 2, prefixes=PrefixCache(), fmt=chat)
    for prompt, result in zip(prompts, out, strict=True):
        prompt_ids = list(encode_prompts(chat, chat_tok, [prompt])["input_ids"][0])
        for choice in ("yes", "no"):
            ids = chat_tok(choice, add_special_tokens=False)["input_ids"] + [end]
            logits = model(torch.tensor([prompt_ids + ids])).logits[0].log_softmax(-1)
            expected = float(sum(logits[len(prompt_ids) - 1 + j, t] for j, t in enumerate(ids)))
            assert result.scores[choice] == pytest.approx(expected, abs=1e-6)
    # "B" is a prefix of "B-X": after a last "B", ending the answer (the end-of-turn token) is itself a choice.
    words = ("mild", "fever", "noted")
    plan = plan_tagging(chat_tok, chat.prompt("Tag every word.", " ".join(words)), TaggingHint(words, ("B", "B-X", "O")), chat)
    assert plan.eos_id == end and plan.prompt_ids.count(chat_tok.bos_token_id) == 1
    (tagged,) = tag_batch(model, [plan], tokenizer=chat_tok, prefixes=PrefixCache())
    cursor, decided = Cursor(plan), []  # the oracle: the whole model on prompt + decided tokens at every choice
    while not cursor.done:
        decided += cursor.forced()
        if cursor.done:
            break
        allowed = cursor.allowed()
        logits = model(torch.tensor([plan.prompt_ids + decided])).logits[0, -1]
        decided.append(allowed[int(torch.argmax(logits[list(allowed)]))])
        cursor.take(decided[-1])
    assert tagged.labels == cursor.labels


def test_evaluate_in_chat_format_names_it_everywhere(tmp_path, chat_tok):
    data = helpers.write_data(tmp_path / "data")
    model = tiny_llama(chat_tok, seed=0).eval()
    out = tmp_path / "eval"
    metrics = evaluate((model, chat_tok), ["toy-tagger", "toy-yesno", "toy-echo"], data, "test", out, "score", registry=helpers.registry(), progress=False)
    assert metrics["run"]["format"] == "chat" and json.loads((out / "run.json").read_text())["format"] == "chat"
    assert "prompt format `chat`" in (out / "results.md").read_text()
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert all(r["prompt"].startswith("<s><|system|>") and r["prompt"].endswith("<|assistant|>\n") for r in rows)
    assert metrics["tasks"]["toy-tagger"]["unparsed"] == 0 and metrics["tasks"]["toy-yesno"]["unparsed"] == 0
    with pytest.raises(MedTunedError, match="format: 'chat' -> 'alpaca'"):  # the format is part of the run's identity
        evaluate((model, chat_tok), ["toy-yesno"], data, "test", out, "score", registry=helpers.registry(), progress=False, prompt_format="alpaca")
    generated = evaluate(
        (model, chat_tok), ["toy-tagger", "toy-yesno"], data, "test", tmp_path / "gen", "generate", registry=helpers.registry(), progress=False
    )
    assert generated["run"]["format"] == "chat" and {m for t in generated["tasks"].values() for m in t["methods"]} == {"generate"}
    rows = [json.loads(line) for line in (tmp_path / "gen" / "predictions.jsonl").read_text().splitlines()]
    assert rows and not any("<|" in r["prediction"] for r in rows)  # only the new tokens, special tokens dropped


def test_predict_picks_the_chat_format_of_a_chat_model(tmp_path, monkeypatch):
    from medtuned_core.evaluate import runner
    from medtuned_core.evaluate.predict import predict
    from medtuned_core.testing_models import build_tiny_model

    made = []
    original = runner.make_requests
    monkeypatch.setattr(runner, "make_requests", lambda *a, **k: made.extend(original(*a, **k)) or made)
    folder = build_tiny_model(tmp_path / "chat", chat=True)
    items = predict(str(folder), "toy-yesno", ["mild fever"], registry=helpers.registry(), data_dir=helpers.write_data(tmp_path / "data"))
    assert len(items) == 1 and items[0]["method"] == "rank" and items[0]["ok"]
    assert made[0].format.name == "chat" and made[0].prompt.startswith("<s><|system|>")


def test_a_model_trained_in_chat_exports_its_template_and_is_evaluated_in_chat(tmp_path):
    from transformers import AutoTokenizer

    from medtuned_core.testing_models import build_tiny_model, write_build_output
    from medtuned_core.train import train

    base = build_tiny_model(tmp_path / "base", chat=True)
    data = write_build_output(tmp_path / "build", n_train=12)
    settings = {"recipe": "quick", "learning_rate": 3e-3, "warmup_steps": 0, "logging_steps": 1, "threads": 1, "max_steps": 3, "format": "chat"}
    export = train({**settings, "model": str(base), "data": str(data), "out": str(tmp_path / "run")})
    assert AutoTokenizer.from_pretrained(export).chat_template == AutoTokenizer.from_pretrained(base).chat_template
    assert json.loads((export / FORMAT_RECORD).read_text())["format"] == "chat"
    assert json.loads((tmp_path / "run" / "run_config.json").read_text())["config"]["format"] == "chat"
    assert "chat template" in (export / "README.md").read_text()
    generation = json.loads((export / "generation_config.json").read_text())
    assert AutoTokenizer.from_pretrained(export).convert_tokens_to_ids("<|end|>") in generation["eos_token_id"]
    metrics = evaluate(
        str(export), ["toy-yesno"], helpers.write_data(tmp_path / "data"), "test", tmp_path / "eval", "score", registry=helpers.registry(), progress=False
    )
    assert metrics["run"]["format"] == "chat"  # read back from the export, no --format given


def test_an_alpaca_export_of_a_chat_model_is_evaluated_in_alpaca(tmp_path):
    from medtuned_core.testing_models import build_tiny_model

    folder = build_tiny_model(tmp_path / "export", chat=True)
    assert make_format("chat", tiny_tokenizer(chat=True))  # the tokenizer has a template...
    write_format_record(folder, ALPACA_FORMAT)  # ...but the export says it was trained in Alpaca
    metrics = evaluate(
        str(folder), ["toy-yesno"], helpers.write_data(tmp_path / "data"), "test", tmp_path / "eval", "score", registry=helpers.registry(), progress=False
    )
    assert metrics["run"]["format"] == "alpaca"
    rows = [json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()]
    assert all(r["prompt"].endswith("### Output:\n") for r in rows)


def test_model_folder_without_record_or_template_is_alpaca(tmp_path: Path):
    from medtuned_core.prompt import format_for_model
    from medtuned_core.testing_models import build_tiny_model

    assert format_for_model(str(build_tiny_model(tmp_path / "plain"))).name == "alpaca"
    assert format_for_model(str(build_tiny_model(tmp_path / "chat", chat=True))).name == "chat"


def test_train_chat_on_a_tokenizer_without_template_is_one_line(tmp_path):
    from click.testing import CliRunner

    from medtuned_core.cli import cli
    from medtuned_core.testing_models import build_tiny_model, write_build_output

    args = [
        "train",
        "--model",
        str(build_tiny_model(tmp_path / "plain")),
        "--data",
        str(write_build_output(tmp_path / "build")),
        "--out",
        str(tmp_path / "run"),
    ]
    result = CliRunner().invoke(cli, [*args, "--format", "chat", "--dry-run"])
    assert result.exit_code == 1 and "the tokenizer has no chat template; use --format alpaca" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
