"""Write the package's sample corpora: invented sentences in the real file formats (run from the repo root).

    python medtuned_tasks_ner/scripts/make_samples.py

Every sentence is assembled from the templates and phrase lists below (seeded, so reruns give the same
files); none comes from a real corpus. BioBERT-style tokenisation: punctuation and hyphens are separate
tokens. Entity density is set near the real corpora's (about one entity per sentence, two for JNLPBA, a
third of sentences with none). BC5CDR-chem and BC5CDR-disease share their sentences, as the real ones do.
"""

from __future__ import annotations

import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "medtuned_tasks_ner" / "samples"
SIZES = {"train": 64, "devel": 48, "test": 48}

PHRASES = {
    "DIS": [
        "hereditary spastic paraplegia",
        "Duchenne muscular dystrophy",
        "DMD",
        "breast cancer",
        "type 2 diabetes",
        "renal cell carcinoma",
        "spinocerebellar ataxia",
        "hypertrophic cardiomyopathy",
        "cystic fibrosis",
        "colorectal adenomas",
        "familial hypercholesterolemia",
        "retinitis pigmentosa",
        "Fabry disease",
        "myotonic dystrophy",
        "neuroblastoma",
        "acute liver injury",
        "seizures",
        "hypotension",
        "nephrotoxicity",
        "bradycardia",
        "tardive dyskinesia",
        "hepatitis",
        "ventricular tachycardia",
        "thrombocytopenia",
        "delirium",
        "ovarian tumours",
        "X - linked adrenoleukodystrophy",
        "optic atrophy",
        "glioblastoma",
        "hemolytic anemia",
        "pain",
        "deafness",
    ],
    "CHEM": [
        "cisplatin",
        "lithium carbonate",
        "haloperidol",
        "doxorubicin",
        "5 - fluorouracil",
        "valproic acid",
        "nitric oxide",
        "gentamicin",
        "amiodarone",
        "methotrexate",
        "dopamine",
        "calcium",
        "ketamine",
        "tacrolimus",
        "propranolol",
        "isoniazid",
        "morphine",
        "L - dopa",
        "sodium nitroprusside",
        "cyclosporine A",
        "glucose",
        "ethanol",
    ],
    "GENE": [
        "p53 tumor suppressor",
        "interleukin - 6",
        "IL - 6",
        "cyclin D1",
        "epidermal growth factor receptor",
        "EGFR",
        "tyrosine kinase",
        "STAT3",
        "insulin receptor substrate 1",
        "c - myc",
        "NF - kappa B",
        "Bcl - 2",
        "protein kinase C",
        "TNF - alpha",
        "alpha - actinin",
        "MAP kinase",
        "Ras GTPase",
        "glucocorticoid receptor",
        "HLA - DR",
        "CD4",
        "dystrophin",
        "spastin",
        "ferritin heavy chain",
    ],
    "BIO": [
        "kappa B site",
        "IL - 2 promoter",
        "c - fos gene",
        "c - jun mRNA",
        "GATA - 1 transcripts",
        "Jurkat T cells",
        "HeLa cells",
        "U937 cells",
        "peripheral blood monocytes",
        "human T lymphocytes",
        "B cells",
        "erythroid progenitors",
        "long terminal repeat",
        "enhancer element",
        "globin RNA",
        "resting neutrophils",
        "THP - 1 cells",
        "CD34 + progenitor cells",
    ],
}

TEMPLATES = [
    "Mutations in the {GENE} gene were found in three unrelated families with {DIS} .",
    "We describe a boy with {DIS} who carried a deletion of exon 12 of {GENE} .",
    "Patients treated with {CHEM} developed {DIS} within the first week of therapy .",
    "The incidence of {DIS} was higher in the {CHEM} group than in the placebo group ( 14 % versus 6 % ) .",
    "{CHEM} - induced {DIS} was reversed by pretreatment with {CHEM} in rats .",
    "Expression of {GENE} was reduced in tumour samples from patients with {DIS} .",
    "Our data place {GENE} upstream of {GENE} in this signalling cascade .",
    "Binding of {GENE} to the {BIO} required the intact DNA - binding domain .",
    "Stimulation of {BIO} with phorbol ester increased {BIO} levels twofold .",
    "In {BIO} , {GENE} translocates to the nucleus after stimulation .",
    "The {BIO} carries two putative docking motifs for {GENE} .",
    "{GENE} lowered transcription from the {BIO} in {BIO} .",
    "No significant association was observed between the polymorphism and disease risk in this cohort .",
    "Blood samples were collected at baseline and after 6 months of follow - up .",
    "The mean age at onset was 34 years ( range : 12 - 61 ) .",
    "Two of the eleven patients had a history of {DIS} and {DIS} .",
    "Administration of {CHEM} at 10 mg / kg caused a dose - dependent fall in blood pressure .",
    "Serum levels of {GENE} correlated with the severity of {DIS} ( r = 0 . 61 ) .",
    "A case of {DIS} after long - term use of {CHEM} is reported .",
    "Clinical features included {DIS} , {DIS} and mild cognitive impairment .",
    "The truncated protein no longer bound {GENE} in our pull - down experiments .",
    "Data were analysed with a mixed model adjusted for age , sex and site .",
    "Conclusion : {CHEM} is best avoided whenever {DIS} is suspected .",
    "Loss of {GENE} function leads to {DIS} in the mouse model .",
    "Cells were incubated with {CHEM} for 24 h before analysis .",
    "The gene maps to chromosome 7q31 , between markers D7S486 and D7S522 .",
    "Both {BIO} and {BIO} expressed the receptor at low levels .",
    "Methods : a retrospective review of 212 consecutive admissions was performed .",
    "The frequency of {DIS} in carriers was 38 % , compared with 4 % in non - carriers .",
    "{CHEM} switched on {GENE} , an effect that vanished once {GENE} was knocked down .",
    "Plasma {CHEM} concentrations were measured by HPLC on days 1 , 3 and 7 .",
    "The combination of {CHEM} and {CHEM} was well tolerated in elderly patients .",
    "Rats received {CHEM} ( 2 mg / kg ) or saline for 5 days before the {CHEM} challenge .",
    "Pretreatment with {CHEM} prevented {DIS} in 9 of 12 animals .",
]

I2B2_PHRASES = {
    "PROBLEM": [
        "chest pain",
        "shortness of breath",
        "a urinary tract infection",
        "atrial fibrillation",
        "fever",
        "hypertension",
        "a left lower lobe pneumonia",
        "acute renal failure",
        "nausea and vomiting",
        "anemia",
        "a small pleural effusion",
        "hypokalemia",
        "congestive heart failure",
        "his symptoms",
        "diabetes mellitus",
        "a right femur fracture",
        "confusion",
    ],
    "TEST": [
        "a chest x-ray",
        "an EKG",
        "her blood cultures",
        "a CT of the head",
        "the white count",
        "an echocardiogram",
        "his creatinine",
        "a urinalysis",
        "the potassium",
        "a cardiac catheterization",
        "serial enzymes",
        "an MRI of the spine",
    ],
    "TREATMENT": [
        "aspirin",
        "intravenous antibiotics",
        "Lasix",
        "a heparin drip",
        "metoprolol",
        "insulin",
        "potassium repletion",
        "physical therapy",
        "a course of levofloxacin",
        "oxygen",
        "coronary artery bypass grafting",
        "packed red blood cells",
    ],
    "CLINICAL_DEPT": ["the cardiology service", "the medical intensive care unit", "the emergency department", "the floor", "rehab", "the surgical service"],
    "EVIDENTIAL": ["reports", "showed", "revealed", "complained of", "notes", "demonstrated"],
    "OCCURRENCE": ["admitted", "transferred", "discharged", "seen", "followed up", "consulted", "presented"],
}

I2B2_TEMPLATES = [
    "The patient was {OCCURRENCE} to {CLINICAL_DEPT} for {PROBLEM} .",
    "{TEST} {EVIDENTIAL} {PROBLEM} , and he was started on {TREATMENT} .",
    "She {EVIDENTIAL} {PROBLEM} for the past two days .",
    "On arrival , {TEST} was 5.8 and {TEST} was negative .",
    "He was given {TREATMENT} and {TREATMENT} with improvement in {PROBLEM} .",
    "Discharge Date : 04/12/2091",
    "HISTORY OF PRESENT ILLNESS :",
    "She was {OCCURRENCE} to {CLINICAL_DEPT} on hospital day three .",
    "{TEST} on 03/02 {EVIDENTIAL} no evidence of {PROBLEM} .",
    "Her {TREATMENT} was held because of {PROBLEM} .",
    "The patient is to follow up with {CLINICAL_DEPT} in two weeks .",
    "He denies {PROBLEM} or {PROBLEM} .",
    "{TREATMENT} was continued at the same dose .",
    "Patient was {OCCURRENCE} home in stable condition on {TREATMENT} .",
    "DISCHARGE MEDICATIONS : {TREATMENT} , {TREATMENT} and {TREATMENT} .",
    "{CLINICAL_DEPT} was {OCCURRENCE} regarding {PROBLEM} .",
]


def _sentences(templates: list[str], phrases: dict[str, list[str]], tagged: set[str], n: int, rng: random.Random) -> list[str]:
    """``n`` distinct filled templates, kept as "{KIND=phrase}" slots so several taggings can share them.

    About 70% of sentences come from templates with a slot of a tagged kind, the rest from any template,
    which gives the real corpora's mix of entity-bearing and entity-free sentences.
    """
    with_entities = [t for t in templates if any("{" + kind + "}" in t for kind in tagged)]
    seen: dict[str, None] = {}
    while len(seen) < n:
        template = rng.choice(with_entities if rng.random() < 0.7 else templates)
        parts = [f"{{{p[1:-1]}={rng.choice(phrases[p[1:-1]])}}}" if p.startswith("{") else p for p in template.split()]
        filled = " ".join(parts)
        filled = filled[0].upper() + filled[1:] if filled[0].islower() else filled
        if filled.startswith("{"):
            head = filled.index("=") + 1
            filled = filled[:head] + filled[head].upper() + filled[head + 1 :]
        seen.setdefault(filled, None)
    return list(seen)


def _tag(filled: str, tagged: set[str], typed: bool) -> list[tuple[str, str]]:
    out = filled.split(" ")
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(out):
        part = out[i]
        if part.startswith("{"):
            # Gather the whole slot "{KIND=words ...}" back together.
            j = i
            while not out[j].endswith("}"):
                j += 1
            kind, _, first = " ".join(out[i : j + 1])[1:-1].partition("=")
            for k, word in enumerate(first.split()):
                if kind in tagged:
                    prefix = "B" if k == 0 else "I"
                    pairs.append((word, f"{prefix}-{kind}" if typed else prefix))
                else:
                    pairs.append((word, "O"))
            i = j + 1
        else:
            pairs.append((part, "O"))
            i += 1
    return pairs


def _write(path: Path, sentences: list[list[tuple[str, str]]], sep: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("".join(f"{w}{sep}{t}\n" for w, t in s) + "\n" for s in sentences), encoding="utf-8")


def main() -> None:
    biobert = {"NCBI-disease": {"DIS"}, "BC5CDR-disease": {"DIS"}, "BC5CDR-chem": {"CHEM"}, "BC2GM": {"GENE"}, "JNLPBA": {"GENE", "BIO"}}
    for split, n in SIZES.items():
        shared_cdr = _sentences(TEMPLATES, PHRASES, {"DIS", "CHEM"}, n, random.Random(f"BC5CDR/{split}"))
        for folder, tagged in biobert.items():
            filled = shared_cdr if folder.startswith("BC5CDR") else _sentences(TEMPLATES, PHRASES, tagged, n, random.Random(f"{folder}/{split}"))
            _write(OUT / folder / f"{split}.tsv", [_tag(f, tagged, typed=False) for f in filled], "\t")
        i2b2_split = {"devel": "dev"}.get(split, split)
        filled = _sentences(I2B2_TEMPLATES, I2B2_PHRASES, set(I2B2_PHRASES), n, random.Random(f"i2b2-2012/{split}"))
        _write(OUT / "i2b2-2012" / f"{i2b2_split}.txt.conll", [_tag(f, set(I2B2_PHRASES), typed=True) for f in filled], " ")


if __name__ == "__main__":
    main()
