"""``--backend openai``: any OpenAI-compatible endpoint (vLLM, TGI, SGLang, llama.cpp, ``transformers serve``,
a hosted API) through the ``openai`` client library.

- API: chat completions (``messages``, the server applies its chat template) when the request's prompt
  format is ``chat``; plain completions (``prompt``, the flat text in the run's format) otherwise;
  ``api=chat`` or ``api=completions`` forces one.
- Greedy: temperature 0, stopped at the format's stop strings (and cleaned by it), with the runner's token
  budget per row.
  Budgets are counted with the model's tokenizer when one is local (``--model`` is a folder, or the
  ``tokenizer`` option names one), else estimated at 3 characters per token (``tokenizer_note`` says which).
- Bounded concurrency (``concurrency`` requests in flight); the client retries 408/409/429/5xx answers,
  connection errors and timeouts with exponential backoff (``max_retries``, honouring ``Retry-After``).
- ``stream``: answers are handed to the runner as they arrive, and the runner stores each at once, so a
  run killed or stopped by a dead server resumes without asking again for what it already has.
- rank: choices are scored from the prompt log-probabilities of ``/v1/completions`` with ``echo`` and
  ``logprobs`` (what vLLM's server returns); a server that returns none (``transformers serve``, chat-only
  APIs) is probed once and the evaluator generates and parses instead, saying why in metrics.json.

The API key is read from the environment variable named by ``api_key_env`` and never written anywhere.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..prompt import CHAT, encode_prompts
from .ranking import RankOutcome, choice_ids
from .request import GENERATE, RANK, TAG, Request

APIS = ("auto", "chat", "completions")
CHARS_PER_TOKEN = 3  # an estimate on the high side of English BPE (about 4), so budgets rarely cut answers
PROBE_PROMPT = "The answer is"
NO_TAGGING = "an OpenAI-compatible API has no token-level constrained decoding (--backend vllm or hf can tag)"


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        client: Any,
        model: str,
        *,
        api: str = "auto",
        concurrency: int = 4,
        tokenizer: Any = None,
        tokenizer_source: str | None = None,
        secret: str | None = None,
        prompt_format: Any = None,
    ) -> None:
        if api not in APIS:
            raise MedTunedError(f"--api {api!r}: choose one of {', '.join(APIS)}")
        if concurrency < 1:
            raise MedTunedError("--concurrency must be at least 1")
        self.client = client
        self.model_name = model
        self.api = api
        self.concurrency = concurrency
        self.tokenizer = tokenizer
        self.tokenizer_note = (
            f"token budgets counted with the local tokenizer of {tokenizer_source}"
            if tokenizer is not None
            else f"token budgets estimated at {CHARS_PER_TOKEN} characters per token (no local tokenizer: set --backend-option tokenizer=FOLDER)"
        )
        self._secret = secret
        self._rank_problem: str | None = None
        self._probed = False
        if getattr(prompt_format, "name", None) == CHAT and tokenizer is None:
            # The server applies its own template; without the tokenizer here there is no flat prompt to score.
            self._rank_problem, self._probed = "the chat format has no flat prompt to score without a local tokenizer", True
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: Any,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        api: str = "auto",
        concurrency: int | str = 4,
        max_retries: int | str = 5,
        timeout: float | str = 120.0,
        tokenizer: str | None = None,
        prompt_format: Any = None,
        **_: Any,
    ) -> OpenAIBackend:
        if not isinstance(model, str):
            raise MedTunedError("--backend openai needs --model: the model id the server knows")
        try:
            import openai
        except ImportError:
            raise MedTunedError('--backend openai needs the openai library: pip install "medtuned-core[openai]"') from None
        key = os.environ.get(api_key_env) if api_key_env else None
        if not key and base_url is None:
            raise MedTunedError(f"--backend openai without --base-url calls the OpenAI API: set ${api_key_env} (or name another variable with --api-key-env)")
        client = openai.OpenAI(api_key=key or "unused", base_url=base_url, max_retries=int(max_retries), timeout=float(timeout))
        local, source = _local_tokenizer(tokenizer or model)
        if tokenizer and local is None:
            raise MedTunedError(f"--backend-option tokenizer={tokenizer}: not a local tokenizer folder")
        if api == "completions" and getattr(prompt_format, "name", None) == CHAT and local is None:
            raise MedTunedError("--api completions needs a flat prompt, which the chat format has only with a local tokenizer: use --api chat")
        return cls(client, model, api=api, concurrency=int(concurrency), tokenizer=local, tokenizer_source=source, secret=key, prompt_format=prompt_format)

    # -- what it can do ------------------------------------------------------------------------
    @property
    def capabilities(self) -> frozenset[str]:
        self._probe()
        return frozenset({GENERATE} | ({RANK} if self._rank_problem is None else set()))

    @property
    def limits(self) -> dict[str, str]:
        self._probe()
        out = {TAG: NO_TAGGING}
        if self._rank_problem is not None:
            out[RANK] = self._rank_problem
        return out

    def _probe(self) -> None:
        """Does the server return prompt log-probabilities (echo + logprobs on /v1/completions)? Asked once."""
        with self._lock:
            if self._probed:
                return
            self._probed = True
            try:
                response = self.client.completions.create(model=self.model_name, prompt=PROBE_PROMPT, max_tokens=1, temperature=0, echo=True, logprobs=1)
                logprobs = response.choices[0].logprobs
                values = list(getattr(logprobs, "token_logprobs", None) or [])
            except Exception as exc:
                self._rank_problem = f"the server refused a log-probability request on /v1/completions ({self._describe(exc)})"
                return
            if len([v for v in values if v is not None]) < 1:
                self._rank_problem = "the server returned no prompt log-probabilities (echo + logprobs on /v1/completions)"

    # -- tokens ---------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self.tokenizer is not None:
            return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]] if texts else []
        return [math.ceil(len(t) / CHARS_PER_TOKEN) for t in texts]

    # -- the three methods ----------------------------------------------------------------------
    def generate(self, requests: Sequence[Request], max_new_tokens: int) -> list[str]:
        out: list[str] = [""] * len(requests)
        capped = [_with_budget(r, max_new_tokens) for r in requests]
        for i, (text, _, _) in self._results(capped, GENERATE):
            out[i] = text
        return out

    def rank(self, requests: Sequence[Request]) -> list[RankOutcome]:
        out: list[Any] = [None] * len(requests)
        for i, (_, _, outcome) in self._results(requests, RANK):
            out[i] = outcome
        return out

    def tag(self, requests: Sequence[Request], key: str = "") -> list[Any]:
        raise MedTunedError(f"the openai backend cannot tag: {NO_TAGGING}")

    def stream(self, requests: Sequence[Request], key: str = "") -> Iterator[tuple[int, str, dict[str, Any]]]:
        """``(index, answer, decode diagnostics)`` for each request, in the order the answers arrive."""
        for i, (text, decode, _) in self._results(requests):
            yield i, text, decode

    def _results(self, requests: Sequence[Request], method: str | None = None) -> Iterator[tuple[int, tuple[str, dict[str, Any], RankOutcome | None]]]:
        """Each request's answer as it arrives. At most ``concurrency`` requests are in flight. When one fails for good (after the client's retries),
        requests not yet sent are cancelled, the answers still arriving are handed over, then the error is raised."""
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="medtuned-openai")
        futures = {pool.submit(self._answer, request, method or request.method): i for i, request in enumerate(requests)}
        failure: tuple[int, BaseException] | None = None
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except CancelledError:
                    continue
                except Exception as exc:
                    if failure is None:
                        failure = (futures[future], exc)
                        for other in futures:
                            other.cancel()
                    continue
                yield futures[future], result
        finally:
            pool.shutdown(wait=failure is not None, cancel_futures=True)
        if failure is not None:
            index, exc = failure
            row = requests[index].row
            raise MedTunedError(
                f"openai backend: {row.get('task', 'row')} {row.get('id', index)!s}: {self._describe(exc)}; "
                "the answers received so far are saved: rerun the same command to resume"
            ) from None

    def _answer(self, request: Request, method: str) -> tuple[str, dict[str, Any], RankOutcome | None]:
        if method == RANK:
            outcome = self._rank_one(request)
            return outcome.choice, outcome.diagnostics(), outcome
        budget = request.max_new_tokens
        fmt = request.format
        stop = list(fmt.stop_strings) or None
        api = self.api if self.api != "auto" else ("chat" if fmt.name == CHAT else "completions")
        if api == "chat":
            response = self.client.chat.completions.create(model=self.model_name, messages=request.messages, max_tokens=budget, temperature=0, stop=stop)
            choice = response.choices[0]
            text = choice.message.content or ""
        else:
            response = self.client.completions.create(model=self.model_name, prompt=request.prompt, max_tokens=budget, temperature=0, stop=stop)
            choice = response.choices[0]
            text = choice.text or ""
        usage = getattr(response, "usage", None)
        decode = {"max_new_tokens": budget, "finish_reason": choice.finish_reason, "api": api}
        if usage is not None:
            decode["completion_tokens"] = usage.completion_tokens
        for end in fmt.stop_strings:  # servers differ on whether they include the stop string
            text = text.split(end, 1)[0]
        return fmt.clean(text), decode, None

    def _rank_one(self, request: Request) -> RankOutcome:
        """Each choice scored as the sum of its tokens' log-probabilities after the prompt (and the format's end
        of answer, when the tokens are ours to send: with a local tokenizer the prompts go as token ids, encoded
        as hf's ranking encodes them; without one, as text, the choice's tokens found by their text offsets)."""
        choices = list(dict.fromkeys(request.choices or []))
        if self.tokenizer is not None:
            prompt_ids = list(encode_prompts(request.format, self.tokenizer, [request.prompt])["input_ids"][0])
            prompts: list[Any] = [prompt_ids + choice_ids(self.tokenizer, c, request.format) for c in choices]
        else:
            prompts = [request.prompt + c for c in choices]
        response = self.client.completions.create(model=self.model_name, prompt=prompts, max_tokens=1, temperature=0, echo=True, logprobs=1)
        by_index = sorted(response.choices, key=lambda c: c.index)
        if len(by_index) != len(choices):
            raise MedTunedError(f"the server answered {len(by_index)} completions for {len(choices)} choices")
        tokens: dict[str, list[Any]] = {}
        token_lps: dict[str, list[float]] = {}
        fed = 0
        for k, (choice, answer) in enumerate(zip(choices, by_index, strict=True)):
            values = list(answer.logprobs.token_logprobs or [])
            if self.tokenizer is not None:
                start, end = len(prompt_ids), len(prompts[k])
                tokens[choice] = list(prompts[k][start:end])
            else:
                offsets = list(answer.logprobs.text_offset or [])
                start = next((j for j, at in enumerate(offsets) if at >= len(request.prompt)), len(offsets))
                end = next((j for j, at in enumerate(offsets) if at >= len(request.prompt) + len(choice)), len(offsets))
                tokens[choice] = list(answer.logprobs.tokens or [])[start:end]  # the server's tokens, by their text
            span = values[start:end]
            if not span or any(v is None for v in span):
                raise MedTunedError(f"the server returned no log-probabilities for choice {choice!r}")
            token_lps[choice] = [float(v) for v in span]
            fed += end
        # Ties go to the first choice listed, as hf ranks. Without a local tokenizer the answer end is not sent.
        end_tokens = len(request.format.end_ids(self.tokenizer)) if self.tokenizer is not None else None
        return RankOutcome.from_tokens(choices, tokens, token_lps, end_tokens, fed)

    def _describe(self, exc: BaseException) -> str:
        """One line about a failed call, never showing the API key."""
        status = getattr(exc, "status_code", None)
        text = f"{type(exc).__name__}{f' {status}' if status else ''}: {exc}"
        base = str(getattr(self.client, "base_url", "") or "")
        if base and base not in text:
            text += f" ({base})"
        if self._secret:
            text = text.replace(self._secret, "***")
        return " ".join(text.split())


def _with_budget(request: Request, max_new_tokens: int) -> Request:
    if request.max_new_tokens <= max_new_tokens:
        return request
    from dataclasses import replace

    return replace(request, max_new_tokens=max_new_tokens)


def _local_tokenizer(name: str) -> tuple[Any, str | None]:
    """The tokenizer of a local model folder (or None: a server's model id is usually not a folder here)."""
    if not isinstance(name, str) or not Path(name).is_dir():
        return None, None
    try:
        from transformers import AutoTokenizer
    except ImportError:
        return None, None
    try:
        return AutoTokenizer.from_pretrained(name), str(Path(name).resolve())
    except (OSError, ValueError):
        return None, None
