"""``medtuned build``: instruction datasets from declarative mix specs.

The API used by the CLI and by tests (which inject their own registry)::

    from medtuned_core.build import build_mix, load_preset, load_spec
    result = build_mix(load_preset("paper"), data_dir, out, registry=registry, allow_missing=True)

Streaming throughout: memory does not grow with the number of rows written.
"""

from .builder import BuildResult, MissingSourcesError, build_mix
from .spec import MixEntry, MixSpec, SpecError, Take, list_presets, load_preset, load_spec, parse_spec

__all__ = [
    "BuildResult",
    "MissingSourcesError",
    "MixEntry",
    "MixSpec",
    "SpecError",
    "Take",
    "build_mix",
    "list_presets",
    "load_preset",
    "load_spec",
    "parse_spec",
]
