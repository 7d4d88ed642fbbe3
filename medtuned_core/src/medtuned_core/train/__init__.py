"""``medtuned train``: the study's recipe through the HF Trainer, optionally on DeepSpeed ZeRO and with LoRA.

Python API::

    from medtuned_core.train import train
    export_dir = train({"recipe": "quick", "model": "smollm2-135m", "data": "build/", "out": "runs/demo"})

Importing this package is cheap; torch and transformers load when a run starts.
"""

from .recipe import RECIPES, TrainConfig, make_config
from .runner import run_training, train

__all__ = ["RECIPES", "TrainConfig", "make_config", "run_training", "train"]
