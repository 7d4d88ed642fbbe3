"""Process-group and DeepSpeed set-up: one code path for a plain single process, the standard launchers
(``deepspeed``, ``torchrun``, ``accelerate launch``) and CPU-only DeepSpeed over gloo."""

from __future__ import annotations

import copy
import json
import os
import socket
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import MedTunedError
from ..io import read_json

CONFIG_FILES = {"zero2": "zero2.json", "zero3": "zero3.json", "zero3-offload": "zero3_offload.json"}


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return rank() == 0


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def load_deepspeed_config(choice: str) -> dict[str, Any] | None:
    """The shipped config for ``zero2``/``zero3``/``zero3-offload``, a user's JSON file, or None for ``none``.

    ZeRO-3 configs always gather full 16-bit weights on save: the export must be a loadable HF folder, not shards.
    """
    if choice == "none":
        return None
    if choice in CONFIG_FILES:
        config = json.loads(resources.files(__package__).joinpath("configs", CONFIG_FILES[choice]).read_text(encoding="utf-8"))
    else:
        path = Path(choice)
        if not path.exists():
            raise MedTunedError(f"DeepSpeed config not found: {path} (or use zero2, zero3, zero3-offload, none)")
        config = read_json(path)
        if not isinstance(config, dict):
            raise MedTunedError(f"{path}: a DeepSpeed config must be a JSON object")
    config = copy.deepcopy(config)
    zero = config.setdefault("zero_optimization", {})
    if int(zero.get("stage", 0)) == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
    return config


def zero_stage(config: dict[str, Any] | None) -> int:
    return int((config or {}).get("zero_optimization", {}).get("stage", 0))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_process_group(use_deepspeed: bool, threads: int | None = None) -> bool:
    """Set up what the Trainer needs before ``TrainingArguments`` is built; returns True when this function created the
    accelerate state (the Trainer must then be told ``use_configured_state``).

    - No GPU: DeepSpeed must use its CPU accelerator (``DS_ACCELERATOR=cpu``), and accelerate does not pick gloo for
      DeepSpeed on CPU by itself, so we create ``PartialState(backend="gloo")`` first.
    - DeepSpeed without a launcher (plain ``medtuned train``): a one-process group on a free local port.
    """
    import torch

    # DeepSpeed still calls torch.distributed's old collective names: one FutureWarning per call, hundreds per step.
    warnings.filterwarnings("ignore", message=r"`torch\.distributed\.\w+` is deprecated", category=FutureWarning)
    if threads:
        torch.set_num_threads(threads)
    cuda = torch.cuda.is_available()
    if not cuda:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    if not use_deepspeed:
        return False
    os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
    if "RANK" not in os.environ and "OMPI_COMM_WORLD_RANK" not in os.environ:
        os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"})
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
    if cuda:
        return False
    # `accelerate launch --cpu` sets ACCELERATE_USE_CPU, which makes accelerate skip its DeepSpeed set-up; DeepSpeed's
    # own CPU accelerator is what runs here.
    os.environ.pop("ACCELERATE_USE_CPU", None)
    from accelerate import PartialState

    PartialState(backend="gloo")
    return True


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
