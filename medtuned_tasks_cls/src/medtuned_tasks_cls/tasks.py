"""HoC's names, as its declaration (``declarations/hoc.toml``) defines them: for the parser shortcut and the tests."""

from __future__ import annotations

from pathlib import Path

from . import plugin

SPECS = tuple(plugin.specs.values())
HOC_TASK = SPECS[0].info
HOC = HOC_TASK.name
TASKS = {HOC: HOC_TASK}
SAMPLES = Path(HOC_TASK.sample_data)
NONE: str = SPECS[0].config.none
DISPLAY: dict[str, str] = SPECS[0].config.values  # corpus label -> output text, hallmarks in the standard order, then None
CORPUS_LABELS = tuple(DISPLAY)
HALLMARKS = tuple(label for label in DISPLAY if label != NONE)
OUTPUTS = HOC_TASK.labels
