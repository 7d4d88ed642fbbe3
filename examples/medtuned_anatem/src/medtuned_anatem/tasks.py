"""The task this plugin provides: AnatEM, 12 anatomical entity types, BIO-tagged per token, declared on the
core's tagging kit (rendering, the position-aligned parser and seqeval scoring are the kit's)."""

from __future__ import annotations

from pathlib import Path

from medtuned_core import TaskInfo
from medtuned_core.kits.declare import declare
from medtuned_core.kits.tagging import tag_set

from .templates import TEMPLATES

ENTITY_TYPES = (
    "Anatomical_system",
    "Cancer",
    "Cell",
    "Cellular_component",
    "Developing_anatomical_structure",
    "Immaterial_anatomical_entity",
    "Multi-tissue_structure",
    "Organ",
    "Organism_subdivision",
    "Organism_substance",
    "Pathological_formation",
    "Tissue",
)
LABELS = tag_set("iob2", ENTITY_TYPES)  # O, B-Anatomical_system, I-Anatomical_system, B-Cancer, ...

ANATEM = TaskInfo(
    name="anatem",
    family="ner",
    description="AnatEM: mentions of anatomical entities (organs, tissues, cells, cancers...) in PubMed abstracts and PMC full text, 12 types.",
    metric="entity_f1",
    splits=("train", "validation", "test"),
    data_folder="AnatEM",
    templates=TEMPLATES,
    labels=LABELS,
    citation="Pyysalo S, Ananiadou S. Anatomical entity mention recognition at literature scale. Bioinformatics 30(6):868-875, 2014.",
    license="CC-BY-SA-3.0",
    how_to_obtain=(
        "Download the AnatEM corpus (AnatEM-1.0.2) from NaCTeM's AnatEM page and place its 'standoff' folder as "
        "AnatEM/standoff/ under the data root (train/, devel/, test/ holding .txt and .ann pairs)."
    ),
    sample_data=str(Path(__file__).parent / "samples"),
)
TASKS = {ANATEM.name: ANATEM}
# Loading is the plugin's own (BRAT standoff, plugin.py); the kit's column-file reader is not used.
SPEC = declare(ANATEM, kit="tagging", scheme="iob2", types=list(ENTITY_TYPES), origin=__name__)
