"""Our own instruction templates for HoC (written for MedTuned; not the study's wording).

Every template ends with the full label list, each hallmark with its abbreviation, plus ``None``
(a test checks this), and says how to write several labels: comma-separated, as the outputs are.
A user's ``--templates`` file replaces these.
"""

from __future__ import annotations

from .labels import OUTPUTS

LABEL_LIST = "\n".join(f"- {output}" for output in OUTPUTS)

_INTRODUCTIONS = (
    "Read the sentence from a cancer research abstract and name every hallmark of cancer it discusses. "
    "Write the labels exactly as listed, separated by commas, or None if no hallmark applies. Labels:",
    "Tag this biomedical sentence with the hallmarks of cancer it provides evidence for. A sentence can have several hallmarks; "
    "give all of them, comma-separated. Answer None when it describes none of them. The hallmarks (abbreviation in brackets):",
    "Multi-label classification of a PubMed sentence by cancer hallmark. Output each matching label from the list below, "
    "joined by commas; output None if the sentence is not about any hallmark.",
    "You are an oncology curator. Decide which of the following cancer hallmarks the sentence refers to and list them, "
    "separated by commas. If none is relevant, reply None.",
    "Which hallmarks of cancer does this sentence describe? Choose from the list, use the names as written, "
    "and separate multiple answers with commas. Use None for a sentence that describes no hallmark.",
    "Assign cancer hallmark labels to the sentence below. Possible labels, with their abbreviations, are listed here; "
    "several may apply (comma-separated), and None means the sentence mentions no hallmark.",
)

HOC_TEMPLATES: tuple[str, ...] = tuple(f"{intro}\n{LABEL_LIST}" for intro in _INTRODUCTIONS)
