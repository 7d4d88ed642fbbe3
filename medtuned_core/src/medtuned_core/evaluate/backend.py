"""Model backends: one interface for free generation, label ranking and constrained tagging.

``hf`` (default, this module) runs a transformers model in this process; ``vllm`` (vllm_backend.py) and
``openai`` (openai_backend.py) are imported only when chosen. Backends are found by name through the
``medtuned_register_backends`` hook (backends.py; the built-ins in builtin_backends.py), so a third-party
backend is a plugin. The runner hands a backend one batch of :class:`Request` at a time, already sorted
and of one method — or, when the backend has ``stream``, every request of a task at once, receiving each
answer as it arrives. A backend declares what it can do in ``capabilities`` (and why it cannot do the rest
in ``limits``); the evaluator uses a method for a row only when the backend has it, and generates (then
parses) otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..errors import MedTunedError
from ..prompt import ALPACA_FORMAT, PromptFormat
from .constrained import Guesser, TaggingHint, TagOutcome, plan_tagging, tag_batch
from .generate import generate_batch
from .prefix import PrefixCache
from .ranking import RankOutcome, rank_batch
from .request import GENERATE, RANK, TAG, Request

CPU_CHUNK_TOKENS = 32
# On a CPU a forward call of SmolLM2-135M costs about its tokens plus the cost of ~40-60 more (per-layer
# overhead), so score mode feeds a batch's prompts in calls of similar lengths rather than padding them all
# to the longest (ranking.py); on an accelerator padding is nearly free, so one call.
CPU_CALL_TOKENS = 64  # 32-256 measured alike on MedQA (benchmarks/bench_perf.py)
# What a backend may declare: free generation (every backend), choosing among complete answers by
# log-likelihood, and constrained tagging (labels chosen at each token of a known answer form).
CAPABILITIES = frozenset({GENERATE, RANK, TAG})


class Backend(Protocol):
    name: str
    model_name: str
    capabilities: frozenset[str]
    # Optional: ``limits`` {method: why this backend cannot use it}, shown in metrics.json; ``stream(requests,
    # key)`` yielding ``(index, text, decode)`` as answers arrive (each is stored at once); ``tokenizer_note``.

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
        adaptive: bool = False,
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
        on_cpu = next(model.parameters()).device.type == "cpu"
        self.chunk_tokens = (CPU_CHUNK_TOKENS if on_cpu else None) if chunk_tokens == "auto" else chunk_tokens
        self.call_tokens = CPU_CALL_TOKENS if on_cpu else None
        self.learn_words = learn_words
        self.adaptive = adaptive  # per-row guess depth (constrained.next_depth); False: fixed-depth verify, for comparison
        self.line_memo: dict = {}  # each word's line ids under every label, shared by the rows (plan_tagging)
        self.guessers: dict[str, Guesser] = {}  # per task: what the model answered so far guides the next guesses

    @classmethod
    def load(cls, name_or_path: str, *, dtype: Any = None, **options: Any) -> HFBackend:
        from ..models import load_model_and_tokenizer

        model, tokenizer = load_model_and_tokenizer(name_or_path, dtype=dtype, for_training=False)
        return cls(_to_device(model), tokenizer, model_name=str(name_or_path), **options)

    @classmethod
    def from_settings(cls, model: Any, *, dtype: Any = None, **settings: Any) -> HFBackend:
        """What ``--backend hf`` loads: a folder, hub id or alias, or a ``(model, tokenizer)`` pair in memory."""
        options = {k: settings[k] for k in HF_SETTINGS if k in settings}
        if isinstance(model, tuple) and len(model) == 2:
            return cls(model[0], model[1], **options)
        if isinstance(model, str):
            return cls.load(model, dtype=dtype, **options)
        raise MedTunedError(f"cannot evaluate a {type(model).__name__}: pass a model folder, hub id, alias or a (model, tokenizer) pair")

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
            self.model,
            self.tokenizer,
            prompts,
            choices,
            prefixes=self.prefixes,
            pad_id=self.pad_id,
            max_rows=max(len(prompts), 1) * 2,
            fmt=_format(requests),
            call_tokens=self.call_tokens,
        )

    def tag(self, requests: Sequence[Request], key: str = "") -> list[TagOutcome]:
        plans = [plan_tagging(self.tokenizer, r.prompt, _hint(r), r.format, self.line_memo) for r in requests]
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
            adaptive=self.adaptive,
        )


def _format(requests: Sequence[Request]) -> PromptFormat:
    """The prompt format of a batch (the runner never mixes formats in one run)."""
    return requests[0].format if requests else ALPACA_FORMAT


def _hint(request: Request) -> TaggingHint:
    if request.hint is None:
        raise ValueError(f"row {request.row.get('id')!r} was sent for tagging without a tagging hint")
    return request.hint


HF_SETTINGS = ("model_name", "lookahead", "max_passes", "share_prefix", "width_quantile", "chunk_tokens", "learn_words")


def _to_device(model: Any) -> Any:
    """On a GPU machine, the GPU of this process (``LOCAL_RANK`` under a launcher: one model per device)."""
    import torch

    if torch.cuda.is_available() and next(model.parameters()).device.type == "cpu":
        from ..train.distributed import local_rank

        return model.to(f"cuda:{local_rank()}")
    return model


def make_backend(kind: str, model: Any, *, dtype: Any = None, registry: Any = None, options: Mapping[str, Any] | None = None, **settings: Any) -> Backend:
    """The backend named ``kind`` (any installed through ``medtuned_register_backends``) for ``model``: a
    name/path/alias or a ``(model, tokenizer)`` pair; a ready backend object is returned as it is.
    ``options`` are the backend's own (checked against what it declares); ``settings`` the run's."""
    if hasattr(model, "capabilities") and hasattr(model, "generate"):
        return model
    from ..plugins import get_registry
    from .backends import load_backend

    return load_backend(registry or get_registry(), kind, model, dict(options or {}), {"dtype": dtype, **settings})
