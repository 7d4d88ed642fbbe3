"""The six NER tasks, declared on the core's tagging kit: metadata, label sets and the file layout each reads."""

from __future__ import annotations

from pathlib import Path

from medtuned_core import TaskInfo
from medtuned_core.kits.declare import declare

from . import templates as tpl

SAMPLES = str(Path(__file__).parent / "samples")
METRIC = "entity_f1"
SPLITS = ("train", "validation", "test")
UNTYPED_TAGS = ("B", "I", "O")
I2B2_2012_TAGS = ("O", *(f"{p}-{t}" for t in tpl.I2B2_2012_TYPES for p in ("B", "I")))

_BIOBERT_CITATION = "Lee J, Yoon W, Kim S, et al. BioBERT: a pre-trained biomedical language representation model for biomedical text mining. Bioinformatics 36(4):1234-1240, 2020."
_BIOBERT_HOW = (
    "Get BioBERT's preprocessed NER data (datasets.tar.gz via dmis-lab/biobert download.sh, or BioMedBERT/biomedbert "
    "@ 9e5e1019 datasets/NER/{folder}) and put train.tsv, devel.tsv and test.tsv in DATA_DIR/{folder}/."
)
_BIOBERT_FORMAT = "BioBERT TSV: token<TAB>tag per line, blank line between sentences, untyped B/I/O tags."


# The tagging kit's reader settings for each native format (IOB2 tags in both).
BIOBERT = {"files": ("{split}.tsv",), "separator": "\t"}
CONLL = {"files": ("{split}.txt.conll", "{split}.conll"), "separator": "whitespace"}


def _biobert(name: str, folder: str, description: str, citation: str, license: str, templates: tuple[str, ...]) -> TaskInfo:
    return TaskInfo(
        name=name,
        family="ner",
        description=f"{description} {_BIOBERT_FORMAT}",
        metric=METRIC,
        splits=SPLITS,
        data_folder=folder,
        templates=templates,
        labels=UNTYPED_TAGS,
        citation=f"{citation} Preprocessed release: {_BIOBERT_CITATION}",
        license=license,
        access="public",
        how_to_obtain=_BIOBERT_HOW.format(folder=folder),
        options={"repair": True},
        sample_data=SAMPLES,
    )


TASKS: tuple[TaskInfo, ...] = (
    _biobert(
        "ncbi-disease",
        "NCBI-disease",
        "Disease mention recognition in PubMed abstracts (NCBI disease corpus).",
        "Dogan RI, Leaman R, Lu Z. NCBI disease corpus: a resource for disease name recognition and concept normalization. J Biomed Inform 47:1-10, 2014.",
        "Public domain (NCBI); BioBERT preprocessing Apache-2.0",
        tpl.NCBI_DISEASE,
    ),
    _biobert(
        "bc5cdr-disease",
        "BC5CDR-disease",
        "Disease mention recognition in the BioCreative V chemical-disease relation corpus.",
        "Li J, Sun Y, Johnson RJ, et al. BioCreative V CDR task corpus: a resource for chemical disease relation extraction. Database 2016:baw068.",
        "BioCreative V CDR terms (free for research); BioBERT preprocessing Apache-2.0",
        tpl.BC5CDR_DISEASE,
    ),
    _biobert(
        "bc5cdr-chem",
        "BC5CDR-chem",
        "Chemical mention recognition in the BioCreative V chemical-disease relation corpus.",
        "Li J, Sun Y, Johnson RJ, et al. BioCreative V CDR task corpus: a resource for chemical disease relation extraction. Database 2016:baw068.",
        "BioCreative V CDR terms (free for research); BioBERT preprocessing Apache-2.0",
        tpl.BC5CDR_CHEM,
    ),
    _biobert(
        "bc2gm",
        "BC2GM",
        "Gene and protein mention recognition (BioCreative II gene mention task).",
        "Smith L, Tanabe LK, Ando RJ, et al. Overview of BioCreative II gene mention recognition. Genome Biology 9(Suppl 2):S2, 2008.",
        "BioCreative II terms (free for research); BioBERT preprocessing Apache-2.0",
        tpl.BC2GM,
    ),
    _biobert(
        "jnlpba",
        "JNLPBA",
        "Bio-entity recognition (JNLPBA 2004, GENIA): protein, DNA, RNA, cell line and cell type collapsed into one entity type.",
        "Kim J-D, Ohta T, Tsuruoka Y, Tateisi Y, Collier N. Introduction to the bio-entity recognition task at JNLPBA. Proc. JNLPBA 2004:70-75.",
        "GENIA corpus terms (free for research); BioBERT preprocessing Apache-2.0",
        tpl.JNLPBA,
    ),
    TaskInfo(
        name="i2b2-2012",
        family="ner",
        description=(
            "Clinical event recognition (2012 i2b2 temporal relations challenge, EVENT spans only): six typed entity kinds. "
            "Space-separated CoNLL `token TAG`, blank line between sentences, as written by facebookresearch/bio-lm."
        ),
        metric=METRIC,
        splits=SPLITS,
        data_folder="i2b2-2012",
        templates=tpl.I2B2_2012,
        labels=I2B2_2012_TAGS,
        citation="Sun W, Rumshisky A, Uzuner O. Evaluating temporal relations in clinical text: 2012 i2b2 Challenge. J Am Med Inform Assoc 20(5):806-813, 2013.",
        license="n2c2 data use agreement (credentialed; not redistributable)",
        access="credentialed",
        how_to_obtain=(
            "Credentialed: request the 2012 i2b2 temporal relations data through the n2c2 portal (portal.dbmi.hms.harvard.edu), "
            "convert it with facebookresearch/bio-lm preprocessing/preprocess_i2b2_2012_ner.py, and put train.txt.conll, "
            "dev.txt.conll and test.txt.conll in DATA_DIR/i2b2-2012/."
        ),
        options={"repair": True},
        sample_data=SAMPLES,
    ),
)

BY_NAME: dict[str, TaskInfo] = {t.name: t for t in TASKS}
SPECS = tuple(declare(t, kit="tagging", reader="conll", scheme="iob2", origin=__name__, **(CONLL if t.name == "i2b2-2012" else BIOBERT)) for t in TASKS)
