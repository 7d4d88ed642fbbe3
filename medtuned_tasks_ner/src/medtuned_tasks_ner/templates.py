"""Our own instruction templates for the six NER tasks (written for MedTuned, not taken from the study).

Each template says what the entity type is, how the labels work and what the answer looks like
(one ``token : label`` line per input token), so a model can follow it zero-shot as well as after
tuning. The core picks one per example with a seeded RNG; users may replace a set with ``--templates``.
"""

from __future__ import annotations

_LINE_FORMAT = "Write one line per token, in the order given, as `token : label`."
_BIO = "B for the first word of a {what}, I for each following word of the same {what}, and O for every other word"


def _untyped(what: str, examples: str) -> tuple[str, ...]:
    """Six phrasings of the untyped B/I/O task for one entity kind (``what``: "disease mention")."""
    bio = _BIO.format(what=what)
    return (
        f"Find every {what} in the sentence below and label each token with {bio}. {_LINE_FORMAT}",
        f"Tag the tokens of this biomedical sentence for {what}s ({examples}). Use the BIO scheme: {bio}. {_LINE_FORMAT}",
        f"You are annotating {what}s. Go through the tokens one by one and give each a label: {bio}. "
        "Answer only with the labelled tokens, one per line, formatted `token : label`.",
        f"Sequence labelling task. Entities of interest: {what}s, such as {examples}. "
        f"Label set: B (begins an entity), I (continues it), O (outside any entity). {_LINE_FORMAT}",
        f"Mark the {what}s in the following text with BIO tags. A {what} that spans several tokens gets B on its first token "
        f"and I on the rest; tokens outside any {what} get O. Reply with `token : label` on separate lines, keeping the original order.",
        f"Read the sentence and decide, token by token, whether it starts a {what} (B), lies inside one (I) or is not part of one (O). "
        "List every token with its label, one `token : label` pair per line.",
    )


NCBI_DISEASE = _untyped("disease mention", "named diseases, syndromes, tumour types and inherited disorders")
BC5CDR_DISEASE = _untyped("disease or symptom mention", "diseases, adverse effects, symptoms and pathological findings")
BC5CDR_CHEM = _untyped("chemical or drug mention", "drug names, compounds, elements and their abbreviations")
BC2GM = _untyped("gene or protein mention", "gene symbols, protein names, receptors and enzymes")
JNLPBA = (
    *_untyped("molecular-biology entity", "proteins, DNA regions, RNAs, cell lines and cell types"),
    "Five kinds of entity count here and share one label scheme: protein, DNA, RNA, cell line and cell type. "
    f"Give the first token of any such entity B, its further tokens I, and all other tokens O. {_LINE_FORMAT}",
)

I2B2_2012_TYPES = ("PROBLEM", "TEST", "TREATMENT", "CLINICAL_DEPT", "EVIDENTIAL", "OCCURRENCE")
_I2B2_TYPES_TEXT = (
    "PROBLEM (diseases, symptoms, abnormal findings), TEST (examinations, lab tests, procedures done to find something), "
    "TREATMENT (drugs, operations, therapies), CLINICAL_DEPT (wards, services, departments), "
    "EVIDENTIAL (words reporting a source, such as 'reports' or 'showed') and OCCURRENCE (other clinically relevant events, "
    "such as admission, transfer or discharge)"
)
I2B2_2012 = (
    f"Label the clinical events in this line of a discharge summary. Event types: {_I2B2_TYPES_TEXT}. "
    f"Use B-TYPE on the first token of an event, I-TYPE on its remaining tokens, and O elsewhere. {_LINE_FORMAT}",
    "Tag each token of the clinical text with one of O, B-PROBLEM, I-PROBLEM, B-TEST, I-TEST, B-TREATMENT, I-TREATMENT, "
    "B-CLINICAL_DEPT, I-CLINICAL_DEPT, B-EVIDENTIAL, I-EVIDENTIAL, B-OCCURRENCE, I-OCCURRENCE. "
    f"B- starts an event, I- continues the same event, O is outside every event. {_LINE_FORMAT}",
    "You are annotating a clinical note for temporal-relation research. Find the events "
    f"({_I2B2_TYPES_TEXT}) and give every token a typed BIO label: B-TYPE opens an event, I-TYPE continues it, O is outside. "
    "Answer with `token : label` lines only, in input order.",
    "Identify problems, tests, treatments, clinical departments, evidential verbs and other occurrences in the text. "
    "The first token of each mention is labelled B- plus its type in capitals (for example B-TREATMENT), later tokens I- plus "
    f"the same type, and tokens outside mentions O. {_LINE_FORMAT}",
    "Clinical event extraction as sequence labelling. For every token output `token : label`, one per line, where label is O "
    "or B-/I- followed by PROBLEM, TEST, TREATMENT, CLINICAL_DEPT, EVIDENTIAL or OCCURRENCE.",
    f"Go through this sentence from a patient record token by token. Event types: {_I2B2_TYPES_TEXT}. "
    "Write each token with its label on its own line, formatted `token : label`; the label is B-TYPE for an event's first token, "
    "I-TYPE for its later tokens and O for the rest.",
)
