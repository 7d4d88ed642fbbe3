"""Evaluation: ``medtuned evaluate`` (generate or score → parse → score, paper-style tables) and ``medtuned predict``.

Python API::

    from medtuned_core.evaluate import evaluate
    metrics = evaluate("smollm2-135m", ["ncbi-disease"], data_dir, "test", "eval/", mode="score", limit=200)

Import-light on purpose: the CLI lists this package's commands without loading torch, so the heavy
modules (runner, backends) load when ``evaluate``/``predict`` are first used.
"""

from __future__ import annotations

from typing import Any

__all__ = ["evaluate", "predict"]


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from .runner import evaluate

        return evaluate
    if name == "predict":
        from .predict import predict

        return predict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
