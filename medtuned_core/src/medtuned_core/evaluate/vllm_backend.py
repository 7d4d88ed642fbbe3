"""The optional vLLM backend (``--backend vllm``): the same interface as the HF backend, for GPUs.

Imported only when chosen; ``pip install vllm`` is the user's business (it pins its own torch).
- Prompts go in as token ids encoded the way training encoded them (the request's prompt format: a chat
  template's text already holds BOS, so vLLM must not add one).
- generate: greedy sampling (temperature 0), stopped where the prompt format ends an answer (Alpaca's
  stop string and EOS, a chat template's end-of-turn token), with the same token budget.
- rank: each ``prompt + choice + end of answer`` is scored token by token from the prompt log-probabilities
  vLLM returns; automatic prefix caching computes each prompt once for all its choices. Every scoring of
  choices.py — constrained greedy included — is read from those per-token figures, so no guided decoding
  is needed for choices.
- tag: structured decoding with a regular expression that fixes the answer's form and allows any
  label at each line; with temperature 0 the grammar engine takes the argmax among the allowed tokens,
  i.e. the same token-level constrained greedy decoding as the HF backend. (The grammar also admits
  non-canonical tokenizations of the forced text, which a model trained on canonical ones rarely takes.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import MedTunedError
from ..prompt import encode_prompts
from .constrained import TaggingHint, TagOutcome
from .ranking import RankOutcome
from .request import GENERATE, RANK, TAG, Request


def _require_vllm() -> Any:
    try:
        import vllm
    except ImportError:
        raise MedTunedError("--backend vllm needs the vllm package (pip install vllm, on a machine with a supported GPU)") from None
    return vllm


def tagging_regex(hint: TaggingHint) -> tuple[str, re.Pattern[str]]:
    """A regex for the guided decoder (no groups) and one that reads the labels back (one group per line)."""
    alternatives = "|".join(re.escape(y) for y in sorted(hint.labels, key=len, reverse=True))
    before, _, after = hint.line.partition("{label}")

    def line(token: str, label_pattern: str) -> str:
        return re.escape(before.format(token=token)) + label_pattern + re.escape(after.format(token=token))

    sep = re.escape(hint.sep)
    guide = sep.join(line(t, f"(?:{alternatives})") for t in hint.tokens)
    reader = re.compile(sep.join(line(t, f"({alternatives})") for t in hint.tokens), re.DOTALL)
    return guide, reader


# Engine arguments passed through to ``vllm.LLM`` (``--tensor-parallel-size``, ``--data-parallel-size`` and
# ``--backend-option KEY=VALUE``), with their types (option values may arrive as text).
ENGINE_OPTIONS = {"tensor_parallel_size": int, "pipeline_parallel_size": int, "data_parallel_size": int, "gpu_memory_utilization": float, "max_model_len": int}


def engine_options(options: dict[str, Any], world_size: int | None = None) -> dict[str, Any]:
    """``vllm.LLM`` keyword arguments from the backend options.

    Tensor (and pipeline) parallelism run inside one ``medtuned evaluate`` process: vLLM starts its own
    workers. Data parallelism runs under ``torchrun --nproc_per_node DP x TP x PP`` with vLLM's
    ``external_launcher``: each process is one vLLM rank, each data-parallel group evaluates its share of
    the rows, and the first process of each group stores them."""
    import os

    out: dict[str, Any] = {}
    for key, kind in ENGINE_OPTIONS.items():
        if options.get(key) is not None:
            try:
                out[key] = kind(options[key])
            except (TypeError, ValueError):
                raise MedTunedError(f"vllm option {key}={options[key]!r}: expected {kind.__name__}") from None
    dp = out.get("data_parallel_size", 1)
    if dp > 1:
        world = world_size if world_size is not None else int(os.environ.get("WORLD_SIZE", "1"))
        wanted = dp * out.get("tensor_parallel_size", 1) * out.get("pipeline_parallel_size", 1)
        if world != wanted:
            raise MedTunedError(
                f"--data-parallel-size {dp} runs under torchrun with data x tensor x pipeline = {wanted} processes "
                f"(torchrun --nproc_per_node {wanted} -m medtuned_core.cli evaluate ...); this run has {world}"
            )
        out["distributed_executor_backend"] = "external_launcher"
    return out


def data_parallel_layout(llm: Any, kwargs: dict[str, Any]) -> tuple[int, int, bool]:
    """``(share, shares, writes)`` of this process: its data-parallel group, and whether it is the group's first."""
    from .data_parallel import launched_rank

    rank = launched_rank()
    per_group = kwargs.get("tensor_parallel_size", 1) * kwargs.get("pipeline_parallel_size", 1)
    config = getattr(getattr(getattr(llm, "llm_engine", None), "vllm_config", None), "parallel_config", None)
    share = int(getattr(config, "data_parallel_rank", rank // per_group))
    return share, int(kwargs["data_parallel_size"]), rank % per_group == 0


class VLLMBackend:
    name = "vllm"
    capabilities = frozenset({GENERATE, RANK, TAG})

    def __init__(self, llm: Any, *, model_name: str, **_: Any) -> None:
        self.vllm = _require_vllm()
        self.llm = llm
        self.tokenizer = llm.get_tokenizer()
        self.model_name = model_name

    @classmethod
    def load(cls, name_or_path: str, *, dtype: Any = None, **options: Any) -> VLLMBackend:
        from ..models import resolve_model

        vllm = _require_vllm()
        kwargs: dict[str, Any] = {"model": resolve_model(name_or_path), "seed": 0, "enable_prefix_caching": True}
        if dtype not in (None, "auto"):
            kwargs["dtype"] = str(dtype).replace("torch.", "")
        kwargs.update(engine_options(options))
        backend = cls(vllm.LLM(**kwargs), model_name=str(name_or_path), **options)
        if kwargs.get("data_parallel_size", 1) > 1:
            backend.data_parallel = data_parallel_layout(backend.llm, kwargs)
        return backend

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]

    def _params(self, **kwargs: Any) -> Any:
        return self.vllm.SamplingParams(temperature=0.0, **kwargs)

    def _inputs(self, requests: Sequence[Request]) -> list[dict[str, list[int]]]:
        return [{"prompt_token_ids": list(self._prompt_ids(r))} for r in requests]

    def _prompt_ids(self, request: Request) -> list[int]:
        return list(encode_prompts(request.format, self.tokenizer, [request.prompt])["input_ids"][0])

    def generate(self, requests: Sequence[Request], max_new_tokens: int) -> list[str]:
        if not requests:
            return []
        fmt = requests[0].format
        params = self._params(max_tokens=max_new_tokens, stop=list(fmt.stop_strings), stop_token_ids=fmt.stop_token_ids(self.tokenizer))
        outs = self.llm.generate(self._inputs(requests), params, use_tqdm=False)
        return [fmt.clean(o.outputs[0].text) for o in outs]

    def rank(self, requests: Sequence[Request]) -> list[RankOutcome]:
        batch, index = [], []
        for r, request in enumerate(requests):
            prompt_ids = self._prompt_ids(request)
            end = request.format.end_ids(self.tokenizer)
            for choice in dict.fromkeys(request.choices or []):
                ids = list(self.tokenizer(choice, add_special_tokens=False)["input_ids"]) + end
                batch.append({"prompt_token_ids": prompt_ids + ids})
                index.append((r, choice, len(prompt_ids), ids))
        outs = self.llm.generate(batch, self._params(max_tokens=1, prompt_logprobs=0), use_tqdm=False)
        tokens: list[dict[str, list[int]]] = [{} for _ in requests]
        token_lps: list[dict[str, list[float]]] = [{} for _ in requests]
        fed = [0] * len(requests)
        for out, (r, choice, n_prompt, ids) in zip(outs, index, strict=True):
            logprobs = out.prompt_logprobs
            tokens[r][choice] = ids
            token_lps[r][choice] = [float(logprobs[n_prompt + j][tok].logprob) for j, tok in enumerate(ids)]
            fed[r] += n_prompt + len(ids)
        return [
            RankOutcome.from_tokens(list(tokens[r]), tokens[r], token_lps[r], len(request.format.end_ids(self.tokenizer)), fed[r])
            for r, request in enumerate(requests)
        ]

    def _guided(self, regex: str, max_tokens: int) -> Any:
        vllm = self.vllm
        sampling = vllm.sampling_params
        if hasattr(sampling, "StructuredOutputsParams"):  # vLLM >= 0.11
            return self._params(max_tokens=max_tokens, structured_outputs=sampling.StructuredOutputsParams(regex=regex))
        return self._params(max_tokens=max_tokens, guided_decoding=sampling.GuidedDecodingParams(regex=regex))

    def tag(self, requests: Sequence[Request], key: str = "") -> list[TagOutcome]:
        hints = [r.hint for r in requests]
        params, readers = [], []
        for hint in hints:
            guide, reader = tagging_regex(hint)
            longest = max(hint.labels, key=len)
            params.append(self._guided(guide, self.count_tokens([hint.render([longest] * len(hint.tokens))])[0] * 2 + 8))
            readers.append(reader)
        outs = self.llm.generate(self._inputs(requests), params, use_tqdm=False)
        results = []
        for out, hint, reader in zip(outs, hints, readers, strict=True):
            text = out.outputs[0].text
            match = reader.fullmatch(text)
            # The grammar guarantees the form; a cut-off answer (token budget) keeps the first label elsewhere.
            labels = list(match.groups()) if match else [hint.labels[0]] * len(hint.tokens)
            results.append(TagOutcome(labels, hint.render(labels), 1, len(out.prompt_token_ids) + len(out.outputs[0].token_ids), match is not None))
        return results
