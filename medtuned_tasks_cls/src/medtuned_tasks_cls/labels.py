"""The Hallmarks of Cancer label set: corpus names, display names and abbreviations.

The corpus (BigBio ``bigbio_text``) writes lower-case names; outputs use the standard hallmark names
with their customary abbreviations (Hanahan & Weinberg 2011; Baker et al. 2016), the names the
study's released data uses, so that rendering reproduces it byte for byte.
"""

from __future__ import annotations

NONE = "none"

# Corpus name -> (display name, abbreviation), in the standard order of the hallmarks.
HALLMARK_NAMES: dict[str, tuple[str, str]] = {
    "sustaining proliferative signaling": ("Sustaining proliferative signaling", "PS"),
    "evading growth suppressors": ("Evading growth suppressors", "GS"),
    "resisting cell death": ("Resisting cell death", "CD"),
    "enabling replicative immortality": ("Enabling replicative immortality", "RI"),
    "inducing angiogenesis": ("Inducing angiogenesis", "A"),
    "activating invasion and metastasis": ("Activating invasion & metastasis", "IM"),
    "genomic instability and mutation": ("Genome instability & mutation", "GI"),
    "tumor promoting inflammation": ("Tumor-promoting inflammation", "TPI"),
    "cellular energetics": ("Deregulating cellular energetics", "CE"),
    "avoiding immune destruction": ("Avoiding immune destruction", "ID"),
}
HALLMARKS: tuple[str, ...] = tuple(HALLMARK_NAMES)
CORPUS_LABELS: tuple[str, ...] = (*HALLMARKS, NONE)
ABBREVIATION_TO_LABEL: dict[str, str] = {abbr: label for label, (_, abbr) in HALLMARK_NAMES.items()}

# Corpus name -> the output text of that label.
DISPLAY: dict[str, str] = {**{label: f"{name} ({abbr})" for label, (name, abbr) in HALLMARK_NAMES.items()}, NONE: "None"}
OUTPUTS: tuple[str, ...] = tuple(DISPLAY[label] for label in CORPUS_LABELS)


def render_labels(labels: list[str]) -> str:
    """The output for a record's labels, in the record's order; an empty list gives ""."""
    return ", ".join(DISPLAY[label] for label in labels)
