"""The openai backend's paths that ``transformers serve`` cannot exercise: choice ranking from prompt
log-probabilities (``/v1/completions`` with ``echo`` and ``logprobs``, in the response format of vLLM's server),
replayed from recorded responses and checked against the hf backend's ranking on the same model; retries on 429
and 5xx; and an API key that never reaches run.json, predictions, metrics or an error message."""

from __future__ import annotations

import json
import time
from pathlib import Path

import evaluate_helpers as helpers
import pytest

openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx2")

from medtuned_core.errors import MedTunedError  # noqa: E402
from medtuned_core.evaluate import evaluate  # noqa: E402
from medtuned_core.evaluate.backend import HFBackend  # noqa: E402
from medtuned_core.evaluate.openai_backend import OpenAIBackend  # noqa: E402
from medtuned_core.evaluate.request import Request  # noqa: E402
from medtuned_core.prompt import ALPACA_FORMAT  # noqa: E402

RECORDED = Path(__file__).parent / "fixtures" / "openai" / "completions_echo_logprobs.json"
BASE = "http://127.0.0.1:9/v1"


def vllm_completion(model, tokenizer, prompts: list) -> dict:
    """What vLLM's /v1/completions returns for ``echo=True, logprobs=1, max_tokens=1``: per prompt, every prompt
    token's log-probability (the first is null), one greedy token, the tokens' texts and character offsets."""
    import torch

    choices = []
    for index, prompt in enumerate(prompts):
        ids = list(tokenizer(prompt)["input_ids"]) if isinstance(prompt, str) else list(prompt)
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), dim=-1)
        nxt = int(logprobs[-1].argmax())
        all_ids = ids + [nxt]
        values = [None] + [float(logprobs[j - 1, ids[j]]) for j in range(1, len(ids))] + [float(logprobs[-1, nxt])]
        texts = [tokenizer.decode([t]) for t in all_ids]
        offsets = [sum(len(t) for t in texts[:j]) for j in range(len(texts))]
        top = [None] + [{texts[j]: values[j]} for j in range(1, len(texts))]
        logprobs_json = {"text_offset": offsets, "token_logprobs": values, "tokens": texts, "top_logprobs": top}
        choices.append(
            {"index": index, "text": "".join(texts), "logprobs": logprobs_json, "finish_reason": "length", "stop_reason": None, "prompt_logprobs": None}
        )
    n = sum(len(c["logprobs"]["tokens"]) - 1 for c in choices)
    usage = {"prompt_tokens": n, "total_tokens": n + len(choices), "completion_tokens": len(choices)}
    return {"id": "cmpl-medtuned-test", "object": "text_completion", "created": 0, "model": "tiny", "choices": choices, "usage": usage}


def client(handler, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=BASE, max_retries=3, http_client=httpx.Client(transport=httpx.MockTransport(handler)))


def replay(recorded: list[dict], calls: list[dict]):
    def handler(request):
        body = json.loads(request.content)
        calls.append(body)
        for exchange in recorded:
            if exchange["request"]["prompt"] == body["prompt"]:
                return httpx.Response(200, json=exchange["response"])
        return httpx.Response(404, json={"error": {"message": "not recorded"}})

    return handler


def toy_requests() -> list[Request]:
    """The toy yes/no task's test rows, rendered as ``medtuned evaluate`` renders them (seed 0)."""
    from plugin_helpers import TOY_SAMPLES

    from medtuned_core.render import render_split

    registry = helpers.registry()
    rows = list(render_split(registry, registry.get("toy-yesno"), TOY_SAMPLES, "test", 0))
    return [Request.for_row(row, ALPACA_FORMAT, method="rank", choices=row["choices"]) for row in rows]


def test_ranks_choices_from_recorded_prompt_logprobs():
    """No local tokenizer: prompts go as text; each choice's tokens are found by their character offsets."""
    recorded = json.loads(RECORDED.read_text())["exchanges"]
    calls: list[dict] = []
    backend = OpenAIBackend(client(replay(recorded, calls)), "tiny")
    assert backend.capabilities == {"generate", "rank"} and calls[0]["echo"] is True  # the probe found log-probabilities
    requests = toy_requests()
    outcomes = backend.rank(requests)
    for request, outcome in zip(requests, outcomes, strict=True):
        expected = {}
        for choice in ("yes", "no"):
            exchange = next(e for e in recorded if e["request"]["prompt"] == [request.prompt + c for c in ("yes", "no")])
            answer = exchange["response"]["choices"][("yes", "no").index(choice)]["logprobs"]
            start, end = len(request.prompt), len(request.prompt) + len(choice)
            expected[choice] = sum(v for v, at in zip(answer["token_logprobs"], answer["text_offset"], strict=True) if start <= at < end)
        assert outcome.scores == pytest.approx(expected, abs=1e-9)
        assert outcome.choice == max(expected, key=expected.get)
    assert all(c["echo"] and c["logprobs"] == 1 and c["max_tokens"] == 1 and c["temperature"] == 0 for c in calls)


def test_ranking_through_token_ids_equals_the_hf_backend():
    """With a local tokenizer the prompts go as token ids encoded as hf's ranking encodes them (prompt, choice, EOS),
    so the server's log-probabilities give hf's scores."""
    model, tokenizer = helpers.model(dtype=None), helpers.tokenizer()

    def live(request):
        body = json.loads(request.content)
        prompts = body["prompt"] if isinstance(body["prompt"], list) and not isinstance(body["prompt"][0], int) else [body["prompt"]]
        return httpx.Response(200, json=vllm_completion(model, tokenizer, prompts))

    api = OpenAIBackend(client(live), "tiny", tokenizer=tokenizer, tokenizer_source="tiny")
    requests = toy_requests()
    theirs = api.rank(requests)
    ours = HFBackend(model, tokenizer).rank(requests)
    for a, b in zip(theirs, ours, strict=True):
        assert a.choice == b.choice
        assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_evaluate_ranks_with_an_api_that_returns_logprobs(tmp_path):
    recorded = json.loads(RECORDED.read_text())["exchanges"]
    backend = OpenAIBackend(client(replay(recorded, [])), "tiny")
    data = helpers.write_data(tmp_path / "data")
    metrics = evaluate(backend, ["toy-yesno"], data, "test", tmp_path / "out", "score", registry=helpers.registry(), progress=False, prompt_format="alpaca")
    assert metrics["tasks"]["toy-yesno"]["method_reasons"] == {"rank: constrained greedy over the choices": 2}


def test_retries_rate_limits_and_server_errors_then_answers():
    calls = []

    def flaky(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"retry-after-ms": "10"}, json={"error": {"message": "slow down"}})
        if len(calls) == 2:
            return httpx.Response(503, headers={"retry-after-ms": "10"}, json={"error": {"message": "overloaded"}})
        return httpx.Response(
            200,
            json={
                "id": "c",
                "object": "text_completion",
                "created": 0,
                "model": "tiny",
                "choices": [{"index": 0, "text": "yes\n### Input", "finish_reason": "stop"}],
            },
        )

    backend = OpenAIBackend(client(flaky), "tiny")
    assert backend.generate(toy_requests()[:1], 8) == ["yes"]  # cut at the format's stop string
    assert len(calls) == 3


def test_the_api_key_is_never_written(tmp_path, monkeypatch):
    secret = "sk-medtuned-test-0123456789"
    monkeypatch.setenv("MEDTUNED_TEST_KEY", secret)
    loaded = OpenAIBackend.load("tiny", base_url=BASE, api_key_env="MEDTUNED_TEST_KEY")
    assert loaded.client.api_key == secret

    def refuse(request):
        assert request.headers["authorization"] == f"Bearer {secret}"
        return httpx.Response(401, json={"error": {"message": f"Incorrect API key provided: {secret}"}})

    backend = OpenAIBackend(client(refuse, secret), "tiny", secret=secret)
    data = helpers.write_data(tmp_path / "data")
    out = tmp_path / "out"
    with pytest.raises(MedTunedError) as error:
        evaluate(
            backend,
            ["toy-echo"],
            data,
            "test",
            out,
            "generate",
            registry=helpers.registry(),
            progress=False,
            backend="openai",
            backend_options={"api_key_env": "MEDTUNED_TEST_KEY"},
        )
    assert secret not in str(error.value) and "AuthenticationError 401" in str(error.value)
    assert not out.exists()  # a run that answered nothing leaves nothing behind (not even run.json)

    def answer(request):
        assert request.headers["authorization"] == f"Bearer {secret}"
        body = json.loads(request.content)
        if request.url.path.endswith("/chat/completions"):
            message = {"role": "assistant", "content": "yes"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return httpx.Response(200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "tiny", "choices": [choice]})
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        choices = [{"index": i, "text": "yes", "finish_reason": "stop", "logprobs": None} for i in range(len(prompts))]
        return httpx.Response(200, json={"id": "c", "object": "text_completion", "created": 0, "model": "tiny", "choices": choices})

    backend = OpenAIBackend(client(answer, secret), "tiny", secret=secret)
    evaluate(backend, ["toy-echo"], data, "test", out, "generate", registry=helpers.registry(), progress=False, backend="openai",
             backend_options={"api_key_env": "MEDTUNED_TEST_KEY"})  # fmt: skip
    assert "api_key_env" in (out / "run.json").read_text()
    written = [p for p in out.iterdir() if p.is_file()]
    assert {"run.json", "predictions.jsonl", "metrics.json"} <= {p.name for p in written}
    assert not any(secret in p.read_text(errors="replace") for p in written)


def test_api_choice_follows_the_prompt_format_and_refuses_what_cannot_work():
    from medtuned_core.prompt import ChatFormat

    chat_without_tokenizer = ChatFormat(None)
    backend = OpenAIBackend.load("served-model", base_url=BASE, prompt_format=chat_without_tokenizer)
    assert backend.api == "auto" and "rank" not in backend.capabilities  # no flat prompt to score, and no probe sent
    assert backend.limits["rank"] == "the chat format has no flat prompt to score without a local tokenizer"
    assert backend.tokenizer_note.startswith("token budgets estimated at 3 characters per token")
    assert backend.count_tokens(["abcdefg"]) == [3]
    with pytest.raises(MedTunedError, match="use --api chat"):
        OpenAIBackend.load("served-model", base_url=BASE, api="completions", prompt_format=chat_without_tokenizer)
    with pytest.raises(MedTunedError, match=r"set \$MEDTUNED_UNSET_KEY"):
        OpenAIBackend.load("gpt-4o-mini", api_key_env="MEDTUNED_UNSET_KEY")
