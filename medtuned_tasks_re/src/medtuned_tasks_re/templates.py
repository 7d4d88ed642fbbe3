"""Our own instruction templates (written for MedTuned; not the study's wording).

Every GAD template names both answers and both masks; every i2b2-2010 template lists all nine
answers with their meaning (tests check this), so a model always sees the closed label set.
A user's ``--templates`` file replaces these per task.
"""

from __future__ import annotations

GAD_TEMPLATES: tuple[str, ...] = (
    "Read the sentence from a biomedical abstract. The gene is masked as @GENE$ and the disease as @DISEASE$. "
    "Does the sentence report an association between the gene and the disease? Answer Positive if it does and Negative if it does not.",
    "Decide whether the text links the masked gene (@GENE$) to the masked disease (@DISEASE$).\n"
    "Positive: the sentence states a gene-disease association.\n"
    "Negative: the sentence states no such association.\n"
    "Reply with one word.",
    "You are curating a gene-disease association database. In the sentence below, @GENE$ stands for a gene and @DISEASE$ for a disease. "
    "Label the sentence Positive when it supports an association between them, otherwise Negative.",
    "Classify the relation between @GENE$ (a gene) and @DISEASE$ (a disease) in this sentence. "
    "Allowed answers: Positive (an association is described) or Negative (no association is described).",
    "Gene-disease relation extraction. Masks: @GENE$ = gene, @DISEASE$ = disease. Answer with exactly one label, Positive or Negative, "
    "telling whether the sentence asserts that the gene is associated with the disease.",
    "As a biomedical text-mining assistant, judge whether the masked gene @GENE$ and the masked disease @DISEASE$ are described as associated. "
    "Write Positive for an association and Negative for none.",
)

I2B2_2010_TEMPLATES: tuple[str, ...] = (
    "The sentence comes from a hospital discharge summary. Two clinical concepts are masked: @problem$ is a medical problem, "
    "@test$ a test and @treatment$ a treatment. Name the relation between the two masked concepts with one of these labels:\n"
    "TrIP: the treatment improves the problem\n"
    "TrWP: the treatment worsens the problem\n"
    "TrCP: the treatment causes the problem\n"
    "TrAP: the treatment is given for the problem\n"
    "TrNAP: the treatment is not given because of the problem\n"
    "TeRP: the test reveals the problem\n"
    "TeCP: the test is done to investigate the problem\n"
    "PIP: one problem indicates the other\n"
    "No Relations: none of the above",
    "Classify how the two masked concepts in this clinical sentence are related (@problem$ = medical problem, @test$ = test, "
    "@treatment$ = treatment). Answer with a single label: TrIP (treatment improves problem), TrWP (treatment worsens problem), "
    "TrCP (treatment causes problem), TrAP (treatment administered for problem), TrNAP (treatment not administered because of problem), "
    "TeRP (test reveals problem), TeCP (test conducted to investigate problem), PIP (problem indicates problem) or No Relations.",
    "You annotate relations in clinical notes. Masks: @problem$, @test$, @treatment$. Choose the one label that fits the pair of masked concepts.\n"
    "- PIP: a medical problem indicates another medical problem\n"
    "- TeCP: a test is conducted to investigate a medical problem\n"
    "- TeRP: a test reveals a medical problem\n"
    "- TrAP: a treatment is administered for a medical problem\n"
    "- TrCP: a treatment causes a medical problem\n"
    "- TrIP: a treatment improves a medical problem\n"
    "- TrNAP: a treatment is not administered because of a medical problem\n"
    "- TrWP: a treatment worsens a medical problem\n"
    "- No Relations: the sentence states none of these relations",
    "Clinical relation extraction. In the sentence, two concepts are replaced by @problem$ (problem), @test$ (test) or @treatment$ (treatment). "
    "Reply with the relation label only. Labels: TrAP = treatment given for the problem; TrNAP = treatment withheld because of the problem; "
    "TrIP = treatment improves the problem; TrWP = treatment worsens the problem; TrCP = treatment causes the problem; "
    "TeRP = test reveals the problem; TeCP = test ordered to investigate the problem; PIP = problem indicates another problem; "
    "No Relations = no relation between the two.",
    "What does the sentence say about the two masked clinical concepts? @problem$ marks a medical problem, @test$ a test, "
    "@treatment$ a treatment. Pick one answer.\n"
    "Treatment improves problem: TrIP\n"
    "Treatment worsens problem: TrWP\n"
    "Treatment causes problem: TrCP\n"
    "Treatment administered for problem: TrAP\n"
    "Treatment not administered because of problem: TrNAP\n"
    "Test reveals problem: TeRP\n"
    "Test conducted to investigate problem: TeCP\n"
    "Problem indicates problem: PIP\n"
    "No relation: No Relations",
    "As a clinical NLP assistant, label the relation between the masked concepts (@problem$, @test$, @treatment$) in this note excerpt. "
    "Answer TrIP, TrWP, TrCP, TrAP or TrNAP when a treatment improves, worsens, causes, is administered for, or is not administered "
    "because of a problem; TeRP or TeCP when a test reveals, or is conducted to investigate, a problem; PIP when a problem indicates "
    "another problem; and No Relations otherwise.",
)
