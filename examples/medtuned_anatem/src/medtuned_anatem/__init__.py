"""An example third-party MedTuned plugin: AnatEM (anatomical entity mentions) from BRAT standoff files.

``plugin`` is the declared task with its own standoff loader (the entry point); ``strict`` is an optional
second plugin that overrides one hook (the parser) with ``tryfirst``. See README.md and docs/plugins.md in
the MedTuned repository.
"""

from .plugin import plugin

__all__ = ["plugin"]
