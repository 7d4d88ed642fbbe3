"""Model backends: one interface for free generation, label ranking and constrained tagging.

``hf`` (default) runs a transformers model in this process. ``vllm`` (vllm_backend.py) is optional and
imported only when chosen. The runner hands a backend one batch of :class:`Request` at a time, already
sorted and of one method. A backend declares what it can do in ``capabilities``; the evaluator uses a
method for a row only when the backend has it, and generates (then parses) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import MedTunedError
from ..prompt import ALPACA_FORMAT, PromptFormat
from .constrained import Guesser, TaggingHint, TagOutcome, plan_tagging, tag_batch
from .generate import generate_batch
from .prefix import PrefixCache
from .ranking import RankOutcome, rank_batch
from .request import GENERATE, RANK, TAG, Request

BACKENDS = ("hf", "vllm")
CPU_CHUNK_TOKENS = 32
# What a backend may declare: free generation (every backend), choosing among complete answers by
# log-likelihood, and constrained tagging (labels chosen at each token of a known answer form).
CAPABILITIES = frozenset({GENERATE, RANK, TAG})


class Backend(Protocol):
    name: str
    model_name: str
    capabilities: frozenset[str]

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def generate(self, requests: Sequence[Request], max_new_tokens: int) -> list[str]: ...

    def rank(self, requests: Sequence[Request]) -> list[RankOutcome]: ...

    def tag(self, requests: Sequence[Request], key: str = "") -> list[TagOutcome]: ...


class HFBackend:
    """A transformers causal LM. ``lookahead``/``max_passes`` select the tagging algorithm (constrained.py)."""

    name = "hf"
    capabilities = CAPABILITIES

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_name: str | None = None,
        lookahead: int | None = None,
        max_passes: int | None = None,
        share_prefix: bool = True,
        width_quantile: float | None = None,
        chunk_tokens: int | str | None = "auto",
        learn_words: bool = True,
    ) -> None:
        from ..models import ensure_pad_token

        ensure_pad_token(tokenizer)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.model_name = model_name or str(getattr(model.config, "name_or_path", "") or type(model).__name__)
        self.lookahead = lookahead
        self.max_passes = max_passes
        self.prefixes = PrefixCache(enabled=share_prefix)
        self.width_quantile = width_quantile
        # On a CPU a forward call costs what its padded tokens cost, so verify passes are cut into chunks of
        # 32 tokens (fastest in benchmarks/bench_eval_modes.py); an accelerator runs a longer chunk in about
        # the same time as a short one, so there a pass verifies the whole remaining answer.
        if chunk_tokens == "auto":
            chunk_tokens = CPU_CHUNK_TOKENS if next(model.parameters()).device.type == "cpu" else None
        self.chunk_tokens = chunk_tokens
        self.learn_words = learn_words
        self.guessers: dict[str, Guesser] = {}  # per task: what the model answered so far guides the next guesses

    @classmethod
    def load(cls, name_or_path: str, *, dtype: Any = None, **options: Any) -> HFBackend:
        from ..models import load_model_and_tokenizer

        model, tokenizer = load_model_and_tokenizer(name_or_path, dtype=dtype, for_training=False)
        return cls(model, tokenizer, model_name=str(name_or_path), **options)

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return 0 if pad is None else int(pad)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def generate(self, requests: Sequence[Request], max_new_tokens: int) -> list[str]:
        return generate_batch(self.model, self.tokenizer, [r.prompt for r in requests], max_new_tokens, _format(requests))

    def rank(self, requests: Sequence[Request]) -> list[RankOutcome]:
        prompts = [r.prompt for r in requests]
        choices = [r.choices or [] for r in requests]
        return rank_batch(
            self.model, self.tokenizer, prompts, choices, prefixes=self.prefixes, pad_id=self.pad_id, max_rows=max(len(prompts), 1) * 2, fmt=_format(requests)
        )

    def tag(self, requests: Sequence[Request], key: str = "") -> list[TagOutcome]:
        plans = [plan_tagging(self.tokenizer, r.prompt, _hint(r), r.format) for r in requests]
        guesser = self.guessers.setdefault(key, Guesser(use_words=self.learn_words))
        return tag_batch(
            self.model,
            plans,
            lookahead=self.lookahead,
            max_passes=self.max_passes,
            guesser=guesser,
            prefixes=self.prefixes,
            tokenizer=self.tokenizer,
            pad_id=self.pad_id,
            width_quantile=self.width_quantile,
            chunk_tokens=self.chunk_tokens,
        )


def _format(requests: Sequence[Request]) -> PromptFormat:
    """The prompt format of a batch (the runner never mixes formats in one run)."""
    return requests[0].format if requests else ALPACA_FORMAT


def _hint(request: Request) -> TaggingHint:
    if request.hint is None:
        raise ValueError(f"row {request.row.get('id')!r} was sent for tagging without a tagging hint")
    return request.hint


def make_backend(kind: str, model: Any, *, dtype: Any = None, **options: Any) -> Backend:
    """A backend for ``model``: a name/path/alias, a ``(model, tokenizer)`` pair, or a ready backend."""
    if kind not in BACKENDS:
        raise MedTunedError(f"unknown backend {kind!r}: choose one of {', '.join(BACKENDS)}")
    if hasattr(model, "capabilities") and hasattr(model, "generate"):
        return model
    if kind == "vllm":
        from .vllm_backend import VLLMBackend  # optional dependency, imported only when chosen

        if not isinstance(model, str):
            raise MedTunedError("the vllm backend loads its model itself: pass a model folder, hub id or alias")
        return VLLMBackend.load(model, dtype=dtype, **options)
    if isinstance(model, tuple) and len(model) == 2:
        return HFBackend(model[0], model[1], **options)
    if isinstance(model, str):
        return HFBackend.load(model, dtype=dtype, **options)
    raise MedTunedError(f"cannot evaluate a {type(model).__name__}: pass a model folder, hub id, alias or a (model, tokenizer) pair")
