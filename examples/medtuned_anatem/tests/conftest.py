"""Make the plugin importable from its source tree when it is not installed (the CLI tests then skip:
entry points need an install, `pip install -e ./examples/medtuned_anatem`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("medtuned_anatem") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
