"""The two tasks' metadata and label sets (names and output strings are part of the contract)."""

from __future__ import annotations

from pathlib import Path

from medtuned_core import TaskInfo

from .templates import GAD_TEMPLATES, I2B2_2010_TEMPLATES

SAMPLES = Path(__file__).parent / "samples"

# --- GAD ------------------------------------------------------------------------------------------
GAD = "gad"
GAD_POSITIVE, GAD_NEGATIVE = "Positive", "Negative"
# BioBERT's convention: label 1 = the sentence asserts a gene-disease association. (The released
# Llama2-MedTuned data maps 1 -> Negative; we follow the field, see docs/re.md.)
GAD_LABEL_TO_OUTPUT = {"1": GAD_POSITIVE, "0": GAD_NEGATIVE}
GAD_OUTPUTS = (GAD_POSITIVE, GAD_NEGATIVE)
GAD_FOLDS = tuple(range(1, 11))  # BioBERT's 10-fold cross-validation folders GAD/1 .. GAD/10

# --- i2b2-2010 ------------------------------------------------------------------------------------
I2B2_2010 = "i2b2-2010"
# BLUE's label order (create_i2b2_bert.py), which is also the study's integer order.
I2B2_RELATIONS = ("PIP", "TeCP", "TeRP", "TrAP", "TrCP", "TrIP", "TrNAP", "TrWP")
I2B2_NO_RELATION = "No Relations"
I2B2_FALSE = "false"  # BLUE's label for a concept pair with no relation
I2B2_LABEL_TO_OUTPUT = {**{r: r for r in I2B2_RELATIONS}, I2B2_FALSE: I2B2_NO_RELATION}
I2B2_OUTPUTS = (*I2B2_RELATIONS, I2B2_NO_RELATION)
# The relation types as the 2010 i2b2/VA challenge defines them (Uzuner et al. 2011).
I2B2_RELATION_NAMES = {
    "TrIP": "Treatment improves medical problem",
    "TrWP": "Treatment worsens medical problem",
    "TrCP": "Treatment causes medical problem",
    "TrAP": "Treatment is administered for medical problem",
    "TrNAP": "Treatment is not administered because of medical problem",
    "TeRP": "Test reveals medical problem",
    "TeCP": "Test conducted to investigate medical problem",
    "PIP": "Medical problem indicates medical problem",
}

GAD_TASK = TaskInfo(
    name=GAD,
    family="re",
    description="Gene-disease association in PubMed sentences (GAD, BioBERT 10-fold cross-validation; option fold=1..10): "
    "is the masked gene @GENE$ associated with the masked disease @DISEASE$? Positive / Negative.",
    metric="f1",
    splits=("train", "test"),
    data_folder="GAD",
    templates=GAD_TEMPLATES,
    labels=GAD_OUTPUTS,
    citation="Bravo A, Pinero J, Queralt-Rosinach N, Rautschka M, Furlong LI. Extraction of relations between genes and diseases from text "
    "and large-scale data analysis: implications for translational research. BMC Bioinformatics 16:55 (2015). "
    "Folds: Lee J et al. BioBERT: a pre-trained biomedical language representation model for biomedical text mining. Bioinformatics 36(4):1234-1240 (2020).",
    license="GAD corpus terms of Bravo et al. 2015, as redistributed in BioBERT's datasets (code Apache-2.0, with a data disclaimer)",
    access="public",
    how_to_obtain="Get BioBERT's preprocessed datasets (dmis-lab/biobert, download.sh: datasets/RE/GAD) and place the fold folders "
    "1..10, each holding train.tsv and test.tsv, under <data-dir>/GAD/.",
    options={"fold": 1},
    sample_data=str(SAMPLES),
)

I2B2_2010_TASK = TaskInfo(
    name=I2B2_2010,
    family="re",
    description="Relations between clinical concepts (2010 i2b2/VA challenge, BLUE format): the relation between two masked concepts "
    "(@problem$, @test$, @treatment$) in a discharge-summary sentence, one of PIP, TeCP, TeRP, TrAP, TrCP, TrIP, TrNAP, TrWP or No Relations.",
    metric="micro_f1",
    splits=("train", "validation", "test"),
    data_folder="i2b2-2010",
    templates=I2B2_2010_TEMPLATES,
    labels=I2B2_OUTPUTS,
    citation="Uzuner O, South BR, Shen S, DuVall SL. 2010 i2b2/VA challenge on concepts, assertions, and relations in clinical text. "
    "JAMIA 18(5):552-556 (2011). Format: Peng Y, Yan S, Lu Z. Transfer Learning in Biomedical Natural Language Processing: "
    "An Evaluation of BERT and ELMo on Ten Benchmarking Datasets. BioNLP 2019.",
    license="n2c2 (DBMI Data Portal) data use agreement; not redistributable",
    access="credentialed",
    how_to_obtain="Request the 2010 i2b2/VA relations data through the n2c2 DBMI Data Portal, convert it with BLUE's "
    "blue/bert/create_i2b2_bert.py (ncbi-nlp/BLUE_Benchmark) and place train.tsv, dev.tsv and test.tsv under <data-dir>/i2b2-2010/.",
    sample_data=str(SAMPLES),
)

TASKS = {t.name: t for t in (GAD_TASK, I2B2_2010_TASK)}
