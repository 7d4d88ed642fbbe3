"""The run's deliverable: a consolidated Hugging Face model folder (safetensors, tokenizer with its chat template,
generation config, ``medtuned.json`` naming the prompt format), its model card (medtuned_core/cards.py: base model,
licence, training data with licences and access, recipe, losses, package versions) and the build manifest."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..io import read_json
from ..jsonl import atomic_writer
from ..prompt import ALPACA_FORMAT, PromptFormat, write_format_record
from .outdir import remove_checkpoints

VERSIONED_PACKAGES = ("medtuned-core", "torch", "transformers", "accelerate", "deepspeed", "peft", "tokenizers", "safetensors")
CARD_METRICS = ("train_loss", "eval_loss", "global_step", "seconds", "train_runtime")
BUILD_MANIFEST = "medtuned_build_manifest.json"  # the build's manifest.json, copied into the export


def package_versions() -> dict[str, str]:
    out = {}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _walk(node: Any, parent_key: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, Mapping):
        yield parent_key, dict(node)
        for key, value in node.items():
            yield from _walk(value, str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, parent_key)


def licences_from_manifest(manifest: Mapping[str, Any] | None) -> dict[str, str]:
    """Task -> licence wherever the manifest states one (an object with ``license`` and ``task``/``name``, or keyed by task)."""
    out: dict[str, str] = {}
    for key, obj in _walk(manifest or {}):
        licence = obj.get("license") or obj.get("licence")
        if isinstance(licence, str) and licence:
            task = obj.get("task") or obj.get("name") or key
            if isinstance(task, str) and task:
                out.setdefault(task, licence)
    return out


def read_manifest(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / "manifest.json"
    if not path.is_file():
        return None
    return read_json(path)


def training_data(data_dir: Path, task_rows: Mapping[str, int]) -> dict[str, Any]:
    """The training data as the model card records it: the build's spec, seed and hash, and per task its rows,
    licence and access level (from the installed task plugins, else the licences the manifest states)."""
    from ..cards import task_records

    manifest = read_manifest(data_dir) or {}
    spec = manifest.get("spec")
    train_output = (manifest.get("outputs") or {}).get("train.jsonl") or {}
    return {
        "build": spec.get("name") if isinstance(spec, Mapping) else None,
        "seed": manifest.get("seed"),
        "rows": sum(task_rows.values()),
        "train_sha256": train_output.get("sha256"),
        "tasks": task_records({"train": dict(task_rows)}, registry_tasks(list(task_rows)), licences_from_manifest(manifest)),
    }


def registry_tasks(tasks: Sequence[str]) -> dict[str, Any]:
    """TaskInfo of the installed task plugins for ``tasks`` (skipped quietly when a task's plugin is absent)."""
    try:
        from ..plugins import get_registry

        registry = get_registry()
    except Exception:  # noqa: BLE001 - a broken plugin environment must not stop an export
        return {}
    return {t: registry.tasks[t] for t in tasks if t in registry.tasks}


def write_model_card(folder: Path, config, model_path: str, data_dir: Path, task_rows: Mapping[str, int], summary: Mapping[str, Any], length_report) -> None:
    """``folder/README.md`` (huggingface_hub ModelCard) and the build manifest beside it, for provenance."""
    from ..cards import base_model_facts, base_model_name, model_card, write_card

    hub_id, licence = base_model_facts(str(config.model), model_path)
    settings = config.to_json()
    if str(settings["deepspeed"]).endswith(".json"):
        settings["deepspeed"] = Path(settings["deepspeed"]).name  # the card names no path of this machine
    card = model_card(
        base_model=base_model_name(str(config.model), model_path),
        base_hub_id=hub_id,
        license=licence,
        run_name=Path(config.out).name,
        settings=settings,
        training_data=training_data(data_dir, task_rows),
        results={k: v for k, v in summary.items() if k in CARD_METRICS},
        length_report=length_report.to_json(),
        versions=package_versions(),
    )
    write_card(folder, card)
    if (data_dir / "manifest.json").is_file():
        shutil.copyfile(data_dir / "manifest.json", folder / BUILD_MANIFEST)


def task_counts(tasks: Sequence[str]) -> dict[str, int]:
    return dict(sorted(Counter(t or "(no task)" for t in tasks).items()))


def finalise_folder(tmp: Path, target: Path) -> Path:
    """Move a finished export into place, replacing an older one (temp folder, then rename)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
    return target


def check_weights(folder: Path) -> None:
    """An export must hold real weights: a ZeRO-3 save without gathering writes empty tensors."""
    from safetensors import safe_open

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise MedTunedError(f"{folder}: the export has no .safetensors weights")
    tensors = 0
    for path in files:
        with safe_open(str(path), framework="pt") as fh:
            for key in fh.keys():
                tensors += 1
                if 0 in fh.get_slice(key).get_shape():
                    raise MedTunedError(f"{path}: tensor {key} is empty (ZeRO-3 weights were not gathered on save)")
    if tensors == 0:
        raise MedTunedError(f"{folder}: the export holds no tensors")


def merge_lora(base_model: str, adapter_dir: Path, out_dir: Path, dtype) -> None:
    """Fold a saved LoRA adapter into a fresh copy of the base weights and save a plain model folder."""
    from peft import PeftModel

    from ..models import load_model_and_tokenizer

    base, _ = load_model_and_tokenizer(base_model, dtype=dtype, for_training=False)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(str(out_dir), safe_serialization=True)


def _recast(folder: Path, dtype_name: str) -> None:
    """Rewrite the exported weights in another dtype (e.g. bf16 to halve a fp32-trained export)."""
    from transformers import AutoModelForCausalLM

    from ..models import _dtype_kwarg, as_torch_dtype

    model = AutoModelForCausalLM.from_pretrained(str(folder), **{_dtype_kwarg(): as_torch_dtype(dtype_name)})
    for stale in folder.glob("*.safetensors*"):
        stale.unlink()
    model.save_pretrained(str(folder), safe_serialization=True)


def export_run(
    trainer, config, model_path: str, out: Path, summary: dict[str, Any], length_report, tokenizer, console, fmt: PromptFormat = ALPACA_FORMAT
) -> Path:
    """Save the trained model as ``OUT/model`` (all ranks take part: ZeRO-3 gathers the shards), with metrics and card."""
    from . import distributed as dist_utils
    from .attention import restore_attention
    from .plots import plot_loss_curve, write_metrics

    restore_attention(trainer.model)  # the saved config must name a standard attention implementation
    main = dist_utils.is_main_process()
    target = out / "model"
    tmp = out / ".model.tmp"
    adapter = out / ".adapter.tmp"
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(adapter, ignore_errors=True)
    dist_utils.barrier()
    # Under ZeRO-3 save_model gathers the partitioned weights (stage3_gather_16bit_weights_on_model_save) on every rank
    # and rank 0 writes them; for LoRA it writes the adapter, merged below into a fresh copy of the base weights.
    trainer.save_model(str(adapter if config.lora else tmp))
    if main:
        if config.lora:
            # Training is over: loading the base weights again must not go through ZeRO-3's partitioned init.
            from transformers.integrations.deepspeed import unset_hf_deepspeed_config

            unset_hf_deepspeed_config()
            # The dtype a training load picks (fp32 on a CPU): an inference load would round the base to bf16 on a bf16 CPU.
            from ..models import as_torch_dtype

            merge_lora(model_path, adapter, tmp, dtype=as_torch_dtype(None, for_training=True))
            shutil.rmtree(adapter, ignore_errors=True)
        if config.export_dtype:
            _recast(tmp, config.export_dtype)
        tokenizer.save_pretrained(str(tmp))  # with its chat template, if it has one
        write_format_record(tmp, fmt, base_model=str(config.model))  # `medtuned evaluate` reads the format back
        _write_generation_config(tmp, tokenizer, fmt.stop_token_ids(tokenizer))
        _inference_config(tmp)
        (tmp / "training_args.bin").unlink(missing_ok=True)  # a pickle of the Trainer's arguments; run_config.json has them
        check_weights(tmp)
        history = trainer.state.log_history
        write_metrics(out / "metrics.json", history, summary)
        plot_loss_curve(out / "loss_curve.png", history, title=f"medtuned train: {Path(str(config.model)).name}")
        from .data import read_rows

        data_dir = Path(config.data).expanduser()
        rows = read_rows(data_dir / "train.jsonl")
        write_model_card(tmp, config, model_path, data_dir, task_counts([str(r.get("task", "")) for r in rows]), summary, length_report)
        finalise_folder(tmp, target)
        if not config.keep_checkpoints:
            remove_checkpoints(out / "checkpoints")  # the run's checkpoint-N folders only, never a user's files
        console.print(f"[bold green]exported[/] {target}  (train loss {summary.get('train_loss', float('nan')):.4f})")
    dist_utils.barrier()
    return target


def _inference_config(folder: Path) -> None:
    """Training turned the KV cache off; an exported model generates, so turn it back on."""
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["use_cache"] = True
    with atomic_writer(path) as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")


def _write_generation_config(folder: Path, tokenizer, stop_ids: Sequence[int] = ()) -> None:
    """Generation stops where every training response ended (EOS, or a chat template's end-of-turn token);
    padding uses the tokenizer's pad id."""
    from transformers import GenerationConfig

    try:
        generation = GenerationConfig.from_pretrained(str(folder))
    except OSError:
        generation = GenerationConfig()
    eos = generation.eos_token_id
    eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
    for stop in reversed([tokenizer.eos_token_id, *stop_ids]):
        if stop is not None and stop not in eos_ids:
            eos_ids.insert(0, stop)
    generation.eos_token_id = eos_ids[0] if len(eos_ids) == 1 else eos_ids
    generation.pad_token_id = tokenizer.pad_token_id
    generation.save_pretrained(str(folder))
