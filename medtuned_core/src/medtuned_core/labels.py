"""Kept for plugins written against it: label finding now lives in the labels kit (:mod:`medtuned_core.kits.labels`)."""

from .kits.labels.find import find_labels, first_label, fold

__all__ = ["find_labels", "first_label", "fold"]
