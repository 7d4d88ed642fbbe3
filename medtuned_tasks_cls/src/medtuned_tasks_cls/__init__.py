"""MedTuned classification task: ``hoc`` (Hallmarks of Cancer, multi-label, sentence level, scored per document).

One declaration on the core's labels kit (``declarations/hoc.toml``): reading, rendering, parsing and
document-level scoring are the kit's; this package holds the declaration and the samples. ``plugin`` is the
object the ``medtuned.plugins`` entry point names.
"""

from pathlib import Path

from medtuned_core.kits.declare import plugin_from_folder

plugin = plugin_from_folder(Path(__file__).parent / "declarations")

__all__ = ["plugin"]
