"""Moved to the core: :mod:`medtuned_core.jsonstream` (every task reading big JSON documents shares it)."""

from medtuned_core.jsonstream import Record, first_char, iter_json_array, iter_json_object, iter_json_records

__all__ = ["Record", "first_char", "iter_json_array", "iter_json_object", "iter_json_records"]
