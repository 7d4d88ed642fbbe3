"""Our own instruction templates (one is chosen per example, seeded on its id).

They are written for MedTuned; none repeats the wording of the study's or the datasets' instructions.
"""

from __future__ import annotations

# ChatDoctor's files carry one fixed instruction on every record; it is replaced by one of these ten.
CHATDOCTOR_TEMPLATES = (
    "A patient describes their health concern below. Reply as their physician would: explain what may be going on and what to do next.",
    "Read the patient's message and write a doctor's reply that addresses the symptoms and suggests sensible next steps.",
    "You are answering a message sent to an online clinic. Respond to the patient's question with clear medical guidance.",
    "Respond to this patient's description of their problem with the assessment and advice a careful clinician would give.",
    "Write the physician's answer to the following patient enquiry, covering likely causes, useful tests and treatment options.",
    "Below is a question from a patient. Give a helpful, medically sound response in plain language.",
    "Acting as the consulting doctor, reply to the patient message below with an explanation and a recommendation.",
    "Give professional medical advice in response to the patient's account of their symptoms.",
    "Consider the patient's message and answer it the way an experienced general practitioner would.",
    "Provide a doctor's response to the health question below, noting when the patient should seek in-person care.",
)

# PMC-LLaMA rows keep their own per-row request (it says, e.g., whether to answer directly or with a
# rationale); the render hook puts that request at the top of the input, under one of these.
PMC_LLAMA_TEMPLATES = (
    "Carry out the biomedical request given in the input.",
    "Follow the request at the start of the input and answer it.",
    "Complete the medical task described in the input below.",
    "Read the request and any material that follows it, then give the response it asks for.",
    "Answer the biomedical question or task stated in the input, in the form it requests.",
    "Respond to the request below as a medical expert would.",
)

MEDQA_TEMPLATES = (
    "Answer this medical licensing exam question by choosing one of the lettered options. Reply with the letter and the option text.",
    "Choose the single best answer to the clinical question below. Give the option's letter followed by its text.",
    "Read the clinical vignette and pick the correct option. Respond in the form 'X. option text'.",
    "This is a multiple-choice question from a US medical board exam. Select the best option and state its letter and text.",
    "Which of the lettered options answers the question correctly? Reply with that letter and the option.",
    "Work out the correct answer to the exam question and write it as the option letter followed by the option text.",
    "Pick the most appropriate answer among the options given. Answer with one option, letter first.",
    "Solve the USMLE-style question below and give the chosen option as its letter and text.",
)

PUBMEDQA_TEMPLATES = (
    "Using only the abstract excerpts given, answer the research question with yes, no or maybe.",
    "Read the study context and decide whether its findings answer the question with yes, no, or maybe. Reply with one word.",
    "Does the evidence in the context support a yes, a no, or only a maybe for the question? Answer with that single word.",
    "Answer the biomedical research question from the given context. Respond with exactly one of: yes, no, maybe.",
    "Based on the study summary below, what is the answer to the question: yes, no or maybe?",
    "Judge the question against the reported results and reply yes, no, or maybe.",
    "Given the question and the parts of an abstract that follow it, give the study's conclusion as yes, no or maybe.",
    "Decide from the context whether the answer is yes, no or maybe, and reply with that word only.",
)
