"""The four QA tasks, each one Python declaration on a core kit (text: chatdoctor, pmc-llama; labels: medqa,
pubmedqa). Task names, data folders, source names and output forms are part of the contract.

What the kits do not know stays in ``loader.py`` (ChatDoctor's file choice and held-out slices, PMC-LLaMA's
sources, PubMedQA's split replay); MedQA is read by the labels kit's own JSONL reader.
"""

from __future__ import annotations

from pathlib import Path

from medtuned_core import TaskInfo
from medtuned_core.kits.declare import declare

from .templates import CHATDOCTOR_TEMPLATES, MEDQA_TEMPLATES, PMC_LLAMA_TEMPLATES, PUBMEDQA_TEMPLATES

SAMPLES = Path(__file__).parent / "samples"

CHATDOCTOR = "chatdoctor"
PMC_LLAMA = "pmc-llama"
MEDQA = "medqa"
PUBMEDQA = "pubmedqa"

# The `source` values of the PMC-LLaMA instruction release, in the order of its dataset card.
PMC_LLAMA_SOURCES = ("medqa_train", "medmcqa", "pubmedqa.ori_pqaa", "liveqa", "medicationqa", "umls", "umls_relation")
PUBMEDQA_LABELS = ("yes", "no", "maybe")

CHATDOCTOR_TASK = TaskInfo(
    name=CHATDOCTOR,
    family="qa",
    description="ChatDoctor patient-doctor dialogues (GenMedGPT-5k, or a user's HealthCareMagic-100k / iCliniq file): answer a "
    "patient's message as a physician. The dataset's one fixed instruction is replaced by one of our ten templates. Scored with "
    "ROUGE-L F1, a weak proxy for answer quality.",
    metric="rougeL_f1",
    splits=("train", "validation", "test"),
    data_folder="ChatDoctor-GenMedGPT-5k",
    templates=CHATDOCTOR_TEMPLATES,
    citation="Li Y, Li Z, Zhang K, Dan R, Jiang S, Zhang Y. ChatDoctor: A Medical Chat Model Fine-Tuned on a Large Language Model "
    "Meta-AI (LLaMA) Using Medical Domain Knowledge. Cureus 15(6): e40895, 2023. https://github.com/Kent0n-Li/ChatDoctor",
    license="Apache-2.0 (repository); the ChatDoctor README restricts the data to academic research, no commercial or clinical use",
    how_to_obtain="Download chatdoctor5k.json from https://github.com/Kent0n-Li/ChatDoctor (or HealthCareMagic-100k.json / "
    "iCliniq.json from the Google Drive links in its README) into <data-dir>/ChatDoctor-GenMedGPT-5k/; choose among several "
    "files with --option file=NAME.",
    # validation/test are deterministic held-out slices keyed on the patient's message (see docs/qa.md); 0 and 0 = all in train.
    options={"file": None, "validation_fraction": 0.05, "test_fraction": 0.05},
    sample_data=str(SAMPLES),
)

PMC_LLAMA_TASK = TaskInfo(
    name=PMC_LLAMA,
    family="qa",
    description="PMC-LLaMA's medical instruction release (MedQA and MedMCQA train, PubMedQA-A, LiveQA, MedicationQA, UMLS "
    "definitions and relations), with a `source` on every row for per-source selection. Scored with ROUGE-L F1 (a weak proxy) "
    "plus option accuracy on the multiple-choice rows.",
    metric="rougeL_f1",
    splits=("train",),
    data_folder="PMC-LLaMA",
    templates=PMC_LLAMA_TEMPLATES,
    citation="Wu C, Lin W, Zhang X, Zhang Y, Xie W, Wang Y. PMC-LLaMA: Toward Building Open-source Language Models for Medicine. "
    "J Am Med Inform Assoc 31(9): 1833-1843, 2024 (arXiv 2304.14454). Data: axiong/pmc_llama_instructions.",
    license="per the axiong/pmc_llama_instructions dataset card; each source keeps its own terms (the umls rows derive from the UMLS "
    "Metathesaurus, under the UMLS licence)",
    how_to_obtain="Download release.json from the Hugging Face dataset axiong/pmc_llama_instructions into <data-dir>/PMC-LLaMA/ "
    "(JSON array or JSON Lines; another name with --option file=NAME).",
    sources=PMC_LLAMA_SOURCES,
    options={"file": None, "sources": None},
    sample_data=str(SAMPLES),
)

MEDQA_TASK = TaskInfo(
    name=MEDQA,
    family="qa",
    description="MedQA (USMLE, US, 4 options): choose the correct option of a board-exam question. Output 'X. option text'; "
    "the option is read back from free text (letters, 'OPTION X IS CORRECT', option text). Accuracy.",
    metric="accuracy",
    # "test" first: the public copy has only test.jsonl, and `medtuned describe` shows the first split.
    splits=("test", "train", "validation"),
    data_folder="MedQA-USMLE-4options",
    templates=MEDQA_TEMPLATES,
    labels=("A", "B", "C", "D"),
    max_new_tokens=128,  # room for "The answer is C. <option text>" and a reason
    citation="Jin D, Pan E, Oufattole N, Weng WH, Fang H, Szolovits P. What Disease does this Patient Have? A Large-scale Open "
    "Domain Question Answering Dataset from Medical Exams. Applied Sciences 11(14): 6421, 2021.",
    license="MIT",
    how_to_obtain="Put test.jsonl (and train.jsonl / dev.jsonl when you have them) of MedQA US 4-option in "
    "<data-dir>/MedQA-USMLE-4options/: https://github.com/jind11/MedQA (Google Drive) or data/medqa/test.jsonl of "
    "https://github.com/xk-huang/medagents-benchmark.",
    sample_data=str(SAMPLES),
)

PUBMEDQA_TASK = TaskInfo(
    name=PUBMEDQA,
    family="qa",
    description="PubMedQA (PQA-L, reasoning-required): answer a research question from the abstract's context with yes, no or "
    "maybe. Test = the official 500 PMIDs of test_ground_truth.json; train/validation = the official 10-fold CV split of the "
    "other 500. Accuracy (primary) and macro-F1, PubMedQA's official evaluation.",
    metric="accuracy",
    splits=("train", "validation", "test"),
    data_folder="PubMedQA",
    templates=PUBMEDQA_TEMPLATES,
    labels=PUBMEDQA_LABELS,
    max_new_tokens=128,  # small models answer in prose ("Yes, bedside ultrasound ..."): ten tokens cut them short
    citation="Jin Q, Dhingra B, Liu Z, Cohen WW, Lu X. PubMedQA: A Dataset for Biomedical Research Question Answering. EMNLP-IJCNLP 2019, 2567-2577.",
    license="MIT",
    how_to_obtain="Put data/ori_pqal.json and data/test_ground_truth.json of https://github.com/pubmedqa/pubmedqa in <data-dir>/PubMedQA/.",
    options={"fold": 0},
    sample_data=str(SAMPLES),
)

_LOADER = "medtuned_tasks_qa.loader:"
SPECS = (
    declare(CHATDOCTOR_TASK, kit="text", reader="python", function=_LOADER + "load_chatdoctor", strip=True, origin=__name__),
    # "request": the row's own request (it says how to answer), a blank line, then the row's input.
    declare(
        PMC_LLAMA_TASK,
        kit="text",
        reader="python",
        function=_LOADER + "load_pmc_llama",
        input="{request}",
        strip=True,
        origin=__name__,
        option_pattern=r"(?i)\bOPTION\s+([A-J])\s+IS\s+CORRECT\b",
    ),
    declare(
        MEDQA_TASK,
        kit="labels",
        reader="jsonl",
        files=("{split}.jsonl", "phrases_no_exclude_{split}.jsonl"),
        origin=__name__,
        shape="choice",
        id="realidx",
        label="answer_idx",
        answer_text="answer",
    ),
    declare(
        PUBMEDQA_TASK,
        kit="labels",
        reader="python",
        function=_LOADER + "load_pubmedqa",
        origin=__name__,
        values=list(PUBMEDQA_LABELS),
        label="answer",
        aliases={"maybe": ["uncertain", "unclear", "inconclusive"]},
        rule="statement",
        macro="present",
        input="Question: {question}\n\nContext:\n{context}",
        strip=True,
    ),
)
TASKS = {spec.name: spec.info for spec in SPECS}
