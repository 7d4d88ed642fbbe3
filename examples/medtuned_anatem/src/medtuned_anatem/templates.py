"""Our own instruction templates for AnatEM (one is chosen per example, seeded, by the core)."""

from __future__ import annotations

_TYPES = (
    "Anatomical_system, Cancer, Cell, Cellular_component, Developing_anatomical_structure, Immaterial_anatomical_entity, "
    "Multi-tissue_structure, Organ, Organism_subdivision, Organism_substance, Pathological_formation, Tissue"
)
_FORMAT = "Write one line per token in the form 'token : label'."

TEMPLATES = (
    f"Label every anatomical entity mentioned in the sentence. {_FORMAT} Use B-TYPE on the first token of a mention, "
    f"I-TYPE on its remaining tokens and O on all other tokens. TYPE is one of: {_TYPES}.",
    f"Find the body parts, tissues, cells, cell components, bodily substances and tumours named in this text. {_FORMAT} "
    f"A mention starts with B-TYPE and continues with I-TYPE; everything else is O. The types are: {_TYPES}.",
    f"You are annotating anatomy in biomedical writing. Tag each token with a BIO label over these anatomical types: {_TYPES}. "
    f"{_FORMAT} Tokens outside any anatomical mention get O.",
    f"Go through the sentence token by token and mark anatomical entity mentions with BIO tags (B-TYPE begins a mention, "
    f"I-TYPE continues it, O is outside). Allowed types: {_TYPES}. {_FORMAT}",
    f"Perform anatomical named entity recognition. {_FORMAT} Give O to tokens that are not part of an anatomical mention, "
    f"and B- or I- followed by the entity type to tokens that are. Entity types: {_TYPES}.",
)
