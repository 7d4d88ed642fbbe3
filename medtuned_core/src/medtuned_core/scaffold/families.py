"""What a scaffolded plugin starts with, per task family: the kit, labels, one template, a tiny fixture.

Two kits cover the five known families: ``tagging`` (one tag per token, NER) and ``labels`` (one label
per example: relations, inference, document classes, yes/no QA). The fixture rows are invented
placeholders that show the file format (IOB2 tags for tagging; the generator rewrites them in the chosen
scheme); the plugin author replaces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FamilyStarter:
    kit: str  # "tagging" or "labels": the kit the declaration names
    labels: tuple[str, ...]
    template: str  # the one instruction template the task starts with
    train: tuple[dict[str, Any], ...]
    test: tuple[dict[str, Any], ...]


def _tagged(sentence: str, tags: str) -> dict[str, Any]:
    tokens, labels = sentence.split(), tags.split()
    if len(tokens) != len(labels):
        raise ValueError(f"starter fixture: {len(tokens)} tokens but {len(labels)} tags in {sentence!r}")
    return {"tokens": tokens, "tags": labels}


STARTERS: dict[str, FamilyStarter] = {
    "ner": FamilyStarter(
        kit="tagging",
        labels=("B", "I", "O"),
        template=(
            "Mark every mention of the target entity in the sentence. Answer with one line per token, written as "
            "'token : tag', where the tag is B for the first token of a mention, I for a following token of the same "
            "mention and O for any other token."
        ),
        train=(
            _tagged("Chronic kidney disease was diagnosed in the older patient .", "B I I O O O O O O O"),
            _tagged("No sign of pneumonia appeared on the scan .", "O O O B O O O O O"),
            _tagged("The trial enrolled adults with type 2 diabetes and asthma .", "O O O O O B I I O B O"),
            _tagged("Blood pressure was normal at discharge .", "O O O O O O O"),
        ),
        test=(
            _tagged("She was treated for acute hepatitis last spring .", "O O O O B I O O O"),
            _tagged("Migraine and anaemia were both recorded .", "B O B O O O O"),
        ),
    ),
    "re": FamilyStarter(
        kit="labels",
        labels=("related", "unrelated"),
        template="Decide whether the sentence states a link between the masked @GENE$ and @DISEASE$. Answer related or unrelated.",
        train=(
            {"text": "Variants of @GENE$ raised the risk of @DISEASE$ in the cohort.", "label": "related"},
            {"text": "@GENE$ was sequenced in all samples, and @DISEASE$ status was recorded separately.", "label": "unrelated"},
            {"text": "Loss of @GENE$ function was found in most patients with @DISEASE$.", "label": "related"},
            {"text": "The @GENE$ assay and the @DISEASE$ survey were run in different years.", "label": "unrelated"},
        ),
        test=(
            {"text": "Carriers of the @GENE$ allele developed @DISEASE$ earlier.", "label": "related"},
            {"text": "We describe the @GENE$ locus; @DISEASE$ cases came from another registry.", "label": "unrelated"},
        ),
    ),
    "nli": FamilyStarter(
        kit="labels",
        labels=("entailment", "neutral", "contradiction"),
        template="Does the premise entail the hypothesis, contradict it, or neither? Answer entailment, contradiction or neutral.",
        train=(
            {"text": "Premise: The patient has no fever today. Hypothesis: The patient is afebrile.", "label": "entailment"},
            {"text": "Premise: The patient has no fever today. Hypothesis: The patient has a high temperature.", "label": "contradiction"},
            {"text": "Premise: The patient has no fever today. Hypothesis: The patient lives alone.", "label": "neutral"},
        ),
        test=(
            {"text": "Premise: She walked into clinic unaided. Hypothesis: She can walk.", "label": "entailment"},
            {"text": "Premise: She walked into clinic unaided. Hypothesis: She is bedbound.", "label": "contradiction"},
            {"text": "Premise: She walked into clinic unaided. Hypothesis: She has two children.", "label": "neutral"},
        ),
    ),
    "cls": FamilyStarter(
        kit="labels",
        labels=("treatment", "diagnosis", "prognosis"),
        template="Classify what the sentence is mainly about. Answer with one word: treatment, diagnosis or prognosis.",
        train=(
            {"text": "Daily low-dose therapy lowered the relapse rate.", "label": "treatment"},
            {"text": "An ultrasound scan confirmed the suspected gallstones.", "label": "diagnosis"},
            {"text": "Most patients were still well five years after surgery.", "label": "prognosis"},
        ),
        test=(
            {"text": "The new inhaler improved breathing within a week.", "label": "treatment"},
            {"text": "A blood test identified the infection on the first day.", "label": "diagnosis"},
        ),
    ),
    "qa": FamilyStarter(
        kit="labels",
        labels=("yes", "no", "maybe"),
        template="Answer the question using the context. Reply with yes, no or maybe.",
        train=(
            {"text": "Question: Did the exercise group sleep longer? Context: The exercise group slept 40 minutes more each night.", "label": "yes"},
            {"text": "Question: Did the drug lower cholesterol? Context: Cholesterol did not change in either arm.", "label": "no"},
            {"text": "Question: Does the diet prevent gout? Context: Fewer attacks were seen, but the study was too small to tell.", "label": "maybe"},
        ),
        test=(
            {"text": "Question: Was the vaccine well tolerated? Context: Side effects were mild and short-lived.", "label": "yes"},
            {"text": "Question: Did the scan find a tumour? Context: Imaging showed normal tissue throughout.", "label": "no"},
        ),
    ),
}
