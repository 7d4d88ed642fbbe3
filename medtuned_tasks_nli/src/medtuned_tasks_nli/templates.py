"""Our own instruction templates for MedNLI (written for MedTuned; not the study's wording).

Every template names all three answers, Entailment, Contradiction and Neutral, and says what each
means (a test checks this), so the model always sees the closed label set. A user's ``--templates``
file replaces these.
"""

from __future__ import annotations

MEDNLI_TEMPLATES: tuple[str, ...] = (
    "Two sentences from a patient's clinical record follow. Decide how Sentence 2 relates to Sentence 1 and answer with one word:\n"
    "Entailment: if Sentence 1 is true, Sentence 2 must be true as well.\n"
    "Contradiction: if Sentence 1 is true, Sentence 2 cannot be true.\n"
    "Neutral: Sentence 1 neither confirms nor rules out Sentence 2.",
    "You are a clinician reviewing a chart. Sentence 1 is taken from the chart and Sentence 2 is a statement about the same patient. "
    "Reply Entailment when the chart sentence proves the statement, Contradiction when it shows the statement is false, "
    "and Neutral when it does not settle the question.",
    "Clinical natural language inference. Classify the pair of sentences below with exactly one label: Entailment, Contradiction or Neutral. "
    "The first sentence is the premise and the second is the hypothesis.",
    "Read the premise (Sentence 1) and the hypothesis (Sentence 2), both about one patient. Is the hypothesis implied by the premise "
    "(Entailment), incompatible with it (Contradiction), or possibly true but not implied (Neutral)? Give only the label.",
    "Judge the logical relation between a sentence from a clinical note and a claim about the patient.\n"
    "Possible answers:\n"
    "- Entailment (the claim follows from the note)\n"
    "- Contradiction (the note rules the claim out)\n"
    "- Neutral (the note says nothing decisive about the claim)",
    "Acting as a physician, compare the two statements. Answer Contradiction if they cannot both be true, Entailment if the second "
    "necessarily holds given the first, and Neutral otherwise.",
)
