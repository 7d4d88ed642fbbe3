"""The backends MedTuned ships, registered through ``medtuned_register_backends`` like a third party's.

Each ``load`` imports its library only when called, so listing backends (``--help``, ``medtuned plugins``)
never imports torch, vllm or openai. ``load(model, **settings)`` receives the run's settings (``dtype``,
``prompt_format``, the score-mode decoding options) and the backend options the user set; it takes what
it uses.
"""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl

VLLM_OPTIONS = ("tensor_parallel_size", "data_parallel_size", "pipeline_parallel_size", "gpu_memory_utilization", "max_model_len")
OPENAI_OPTIONS = ("base_url", "api_key_env", "api", "concurrency", "max_retries", "timeout", "tokenizer")


def load_hf(model: Any, **settings: Any) -> Any:
    from .backend import HFBackend

    return HFBackend.from_settings(model, **settings)


def load_vllm(model: Any, **settings: Any) -> Any:
    from .vllm_backend import VLLMBackend

    return VLLMBackend.load(model, **settings)


def load_openai(model: Any, **settings: Any) -> Any:
    from .openai_backend import OpenAIBackend

    return OpenAIBackend.load(model, **settings)


@hookimpl
def medtuned_register_backends(register):
    register(
        "hf", load_hf, description="transformers in this process (default); data-parallel under torchrun/accelerate launch", requires=("torch", "transformers")
    )
    register(
        "vllm",
        load_vllm,
        description="vLLM on GPUs; --tensor-parallel-size, --data-parallel-size (under torchrun)",
        options=VLLM_OPTIONS,
        requires=("vllm",),
        install="pip install vllm (on a machine with a supported GPU)",
    )
    register(
        "openai",
        load_openai,
        description="any OpenAI-compatible server or API (--base-url; key from --api-key-env)",
        options=OPENAI_OPTIONS,
        requires=("openai",),
        install='pip install "medtuned-core[openai]"',
    )
