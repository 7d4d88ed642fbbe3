"""In-process plugins for the core's tests (importable as a sibling module under importlib mode)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TOY_SRC = Path(__file__).parent / "fixtures" / "toy_plugin" / "src"
TOY_SAMPLES = TOY_SRC / "medtuned_toy" / "samples"


def toy_module() -> ModuleType:
    """The toy plugin module, imported from the fixture source tree (not installed)."""
    if "medtuned_toy" in sys.modules:
        return sys.modules["medtuned_toy"]
    spec = importlib.util.spec_from_file_location("medtuned_toy", TOY_SRC / "medtuned_toy" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["medtuned_toy"] = module
    spec.loader.exec_module(module)
    return module
