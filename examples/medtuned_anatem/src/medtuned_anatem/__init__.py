"""An example third-party MedTuned plugin: AnatEM (anatomical entity mentions) from BRAT standoff files.

``plugin`` holds the hooks (the entry point); ``strict`` is an optional second plugin that overrides
one hook (the parser) with ``tryfirst``. See README.md and docs/plugins.md in the MedTuned repository.
"""
