"""Corpus readers for the QA tasks the kits' own readers do not cover (the kits' ``python`` reader calls them).

Every reader checks the records it yields and raises ``CorpusFormatError`` naming the file and the
record (or line) of anything it cannot use. Each returns its iterator only after finding its file, so
a missing file is reported when the split is asked for, not on the first row. MedQA needs no code here:
the labels kit reads its JSON Lines (``tasks.py``).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from medtuned_core import CorpusFormatError, MedTunedError
from medtuned_core.corpus import MissingSplitError
from medtuned_core.jsonstream import Record, iter_json_array, iter_json_object, iter_json_records
from medtuned_core.kits.records import field

from .tasks import CHATDOCTOR, PMC_LLAMA, PMC_LLAMA_SOURCES, PUBMEDQA, PUBMEDQA_LABELS

# ---------------------------------------------------------------------------------------------
# shared helpers


def _field(path: Path, rec: Record, obj: dict[str, Any], name: str, kind: type | tuple[type, ...] = str) -> Any:
    """``obj[name]``, which must exist and be of ``kind``; else an error naming the file, record and line."""
    return field(path, rec.number, "record", obj, name, kind, line=rec.line)


def _error(path: Path, rec: Record, message: str) -> CorpusFormatError:
    return CorpusFormatError(path, rec.number, f"{message} (line {rec.line})", unit="record")


def _no_records(path: Path) -> CorpusFormatError:
    return CorpusFormatError(path, None, "holds no records (an empty data file)")


def _as_object(path: Path, rec: Record, what: str) -> dict[str, Any]:
    if not isinstance(rec.value, dict):
        raise _error(path, rec, f"expected {what} (a JSON object), found {type(rec.value).__name__}")
    return rec.value


def _choose_file(task: str, folder: Path, chosen: str | None, known: Sequence[str], suffixes: Sequence[str]) -> Path:
    """The data file: the ``file`` option if given, else the one known (or only) file in the folder."""
    if chosen:
        path = Path(chosen)
        path = path if path.is_absolute() else folder / path
        if not path.is_file():
            raise MissingSplitError(task, path, "The file named by --option file does not exist.")
        return path
    present = [folder / name for name in known if (folder / name).is_file()]
    if not present:
        present = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in suffixes)
    if len(present) == 1:
        return present[0]
    if not present:
        raise MissingSplitError(task, folder / known[0], f"No data file; looked for {', '.join(known)} or a single *{' / *'.join(suffixes)} file.")
    names = ", ".join(p.name for p in present)
    raise MedTunedError(f"task {task!r}: several data files in {folder} ({names}); choose one with --option file=NAME")


def _unit_hash(*parts: str) -> float:
    """A uniform number in [0, 1) from text: stable across runs, machines and Python versions."""
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _fraction(options: dict[str, Any], name: str) -> float:
    value = options.get(name, 0) or 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise MedTunedError(f"option {name} must be a number in [0, 1), got {value!r}")
    return float(value)


# ---------------------------------------------------------------------------------------------
# ChatDoctor: one JSON array of {instruction, input, output}

CHATDOCTOR_FILES = ("chatdoctor5k.json", "HealthCareMagic-100k.json", "iCliniq.json")
# iCliniq.json has no `output`: its answers sit in answer_icliniq (the site's doctors), answer_chatgpt, answer_chatdoctor.
CHATDOCTOR_ANSWER_FIELDS = ("output", "answer_icliniq")
_HOLDOUT_SALT = "medtuned-chatdoctor-holdout-v1"


def chatdoctor_split_of(patient_text: str, validation_fraction: float, test_fraction: float) -> str:
    """The split a record belongs to, decided by its patient message alone.

    Keyed on the text (not the position or a seed) so that a record stays in its split when the file
    is reordered or extended, a different build seed can never move test rows into training, and
    records asking the same thing land together.
    """
    u = _unit_hash(_HOLDOUT_SALT, patient_text.strip())
    if u < test_fraction:
        return "test"
    if u < test_fraction + validation_fraction:
        return "validation"
    return "train"


def load_chatdoctor(folder: Path, split: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    path = _choose_file(CHATDOCTOR, folder, options.get("file"), CHATDOCTOR_FILES, (".json",))
    val, test = _fraction(options, "validation_fraction"), _fraction(options, "test_fraction")
    if val + test >= 1:
        raise MedTunedError(f"options validation_fraction + test_fraction must stay below 1, got {val} + {test}")
    if split != "train" and {"validation": val, "test": test}[split] == 0:
        raise MissingSplitError(CHATDOCTOR, path, f"The {split} slice is empty: set --option {split}_fraction=0.05 (for example).")
    return _chatdoctor_rows(path, split, val, test)


def _chatdoctor_rows(path: Path, split: str, val: float, test: float) -> Iterator[dict[str, Any]]:
    rec = None
    for rec in iter_json_array(path):
        obj = _as_object(path, rec, "a ChatDoctor record")
        patient = _field(path, rec, obj, "input")
        answer_field = next((f for f in CHATDOCTOR_ANSWER_FIELDS if f in obj), CHATDOCTOR_ANSWER_FIELDS[0])
        answer = _field(path, rec, obj, answer_field)
        if chatdoctor_split_of(patient, val, test) == split:
            yield {"id": f"{path.stem}-{rec.number}", "input": patient, "output": answer, "file": path.name}
    if rec is None:
        raise _no_records(path)


# ---------------------------------------------------------------------------------------------
# PMC-LLaMA instructions: JSON array or JSON Lines of {instruction, input, output, source, sample_id}

PMC_LLAMA_FILES = ("release.json", "release.jsonl")


def selected_sources(value: Any) -> tuple[str, ...]:
    """The ``sources`` option: None (all), a comma-separated string or a list of source names."""
    if value in (None, "", "all"):
        return PMC_LLAMA_SOURCES
    names = [s.strip() for s in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise MedTunedError(f"option sources must be a comma-separated string or a list of names, got {value!r}")
    unknown = [s for s in names if s not in PMC_LLAMA_SOURCES]
    if unknown:
        raise MedTunedError(f"unknown PMC-LLaMA source(s) {', '.join(unknown)}; known: {', '.join(PMC_LLAMA_SOURCES)}")
    return tuple(s for s in PMC_LLAMA_SOURCES if s in names)


def load_pmc_llama(folder: Path, split: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    path = _choose_file(PMC_LLAMA, folder, options.get("file"), PMC_LLAMA_FILES, (".json", ".jsonl"))
    return _pmc_llama_rows(path, set(selected_sources(options.get("sources"))))


def _pmc_llama_rows(path: Path, wanted: set[str]) -> Iterator[dict[str, Any]]:
    seen: dict[str, int] = {}
    for rec in iter_json_records(path):
        obj = _as_object(path, rec, "a PMC-LLaMA row")
        instruction, text, output = (_field(path, rec, obj, name) for name in ("instruction", "input", "output"))
        source = _field(path, rec, obj, "source")
        if source not in PMC_LLAMA_SOURCES:
            raise _error(path, rec, f"unknown source {source!r}; expected one of {', '.join(PMC_LLAMA_SOURCES)}")
        # sample_id counts within a source on the dataset card; without one, the record number stands in.
        sample_id = _field(path, rec, obj, "sample_id", (int, str)) if "sample_id" in obj else rec.number
        example_id = f"{source}-{sample_id}"
        if example_id in seen:
            raise _error(path, rec, f"duplicate (source, sample_id) {example_id!r}, first at record {seen[example_id]}")
        seen[example_id] = rec.number
        if source in wanted:
            request = "\n\n".join(part for part in (instruction.strip(), text.strip()) if part)
            yield {"id": example_id, "source": source, "sample_id": sample_id, "instruction": instruction, "input": text, "output": output, "request": request}
    if not seen:
        raise _no_records(path)


# ---------------------------------------------------------------------------------------------
# PubMedQA (PQA-L): ori_pqal.json (dict by PMID) + test_ground_truth.json ({PMID: decision})

PUBMEDQA_FILE = "ori_pqal.json"
PUBMEDQA_TEST_FILE = "test_ground_truth.json"
PUBMEDQA_FOLDS = 10
PUBMEDQA_SEED = 0  # pubmedqa/preprocess/split_dataset.py seeds Python's random with 0


def stratified_folds(pmids: Iterable[str], decision: dict[str, str], n_folds: int, rng: random.Random) -> list[list[str]]:
    """PubMedQA's label-stratified split (the algorithm of pubmedqa's preprocess/split_dataset.py).

    Per label (yes, no, maybe, in that order) the PMIDs are shuffled and cut into ``n_folds`` chunks of
    ``ceil(n / n_folds)``; fold i joins the i-th chunk of each label. When the last fold comes out smaller
    than the first, one randomly chosen PMID of each other fold moves to it. Given the same generator
    state, the result is the official one item for item.
    """
    by_label: dict[str, list[str]] = {label: [] for label in PUBMEDQA_LABELS}
    for pmid in pmids:
        by_label[decision[pmid]].append(pmid)
    chunks = {}
    for label, items in by_label.items():
        rng.shuffle(items)
        size = math.ceil(len(items) / n_folds)
        chunks[label] = [items[i * size : (i + 1) * size] if i < n_folds - 1 else items[i * size :] for i in range(n_folds)]
    folds = [[pmid for label in PUBMEDQA_LABELS for pmid in chunks[label][i]] for i in range(n_folds)]
    if len(folds[-1]) != len(folds[0]):
        for fold in folds[:-1]:
            if fold:  # only tiny sets leave a fold empty; the official 500/1000 never do
                folds[-1].append(fold.pop(fold.index(rng.choice(fold))))
    return folds


def pubmedqa_splits(order: Sequence[str], decision: dict[str, str], test_pmids: Sequence[str] | None, fold: int) -> tuple[dict[str, list[str]], bool]:
    """``({split: PMIDs}, official)`` for PQA-L.

    The official procedure halves the 1,000 items into 500 test and 500 cross-validation items and cuts
    the latter into 10 folds, all from one generator seeded with 0. Replaying it reproduces
    test_ground_truth.json exactly; when it does, fold ``fold`` is the validation split and the other
    nine are train, as in pubmedqa's pqal_fold{k}. When the replayed test half differs from the file's
    (a modified or partial corpus), test still comes from the file and the rest is split with the same
    algorithm, continuing the same generator; ``official`` is then False.
    """
    rng = random.Random(PUBMEDQA_SEED)
    cv_half, test_half = stratified_folds(order, decision, 2, rng)
    official = test_pmids is None or set(test_half) == set(test_pmids)
    if test_pmids is None:
        test = test_half
    else:
        test = list(test_pmids)
        if not official:
            held = set(test)
            cv_half = [p for p in order if p not in held]
    folds = stratified_folds(cv_half, decision, PUBMEDQA_FOLDS, rng)
    train = [pmid for i, f in enumerate(folds) if i != fold for pmid in f]
    return {"train": train, "validation": folds[fold], "test": test}, official


def load_pubmedqa(folder: Path, split: str, options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    fold = options.get("fold", 0)
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < PUBMEDQA_FOLDS:
        raise MedTunedError(f"option fold must be an integer 0-{PUBMEDQA_FOLDS - 1} (pubmedqa's pqal_fold0..9), got {fold!r}")
    path = folder / PUBMEDQA_FILE
    if not path.is_file():
        raise MissingSplitError(PUBMEDQA, path, "PubMedQA needs ori_pqal.json (and test_ground_truth.json for the official test split).")
    items = read_pqal(path)
    test_path = folder / PUBMEDQA_TEST_FILE
    test = read_test_ground_truth(test_path, items) if test_path.exists() else None  # a folder there is an error, not an absence
    splits, _ = pubmedqa_splits(list(items), {p: e["answer"] for p, e in items.items()}, test, fold)
    if not splits[split]:
        raise MissingSplitError(PUBMEDQA, path, f"The {split} split is empty for this corpus.")
    return (items[pmid] for pmid in splits[split])


def read_pqal(path: Path) -> dict[str, dict[str, Any]]:
    """ori_pqal.json as ``{PMID: example}`` in file order."""
    items: dict[str, dict[str, Any]] = {}
    for rec in iter_json_object(path):
        obj = _as_object(path, rec, f"the entry of PMID {rec.key}")
        question = _field(path, rec, obj, "QUESTION")
        contexts = _field(path, rec, obj, "CONTEXTS", list)
        if not contexts or not all(isinstance(c, str) for c in contexts):
            raise _error(path, rec, f"PMID {rec.key}: CONTEXTS must be a non-empty list of strings")
        decision = _field(path, rec, obj, "final_decision")
        if decision not in PUBMEDQA_LABELS:
            raise _error(path, rec, f"PMID {rec.key}: final_decision {decision!r} is not yes, no or maybe")
        labels = obj.get("LABELS")
        # Section names go with the contexts one to one; a list that does not line up is not used.
        labels = labels if isinstance(labels, list) and len(labels) == len(contexts) and all(isinstance(x, str) for x in labels) else None
        long_answer = obj.get("LONG_ANSWER")
        # The input's context: each context under its section name. The abstract's conclusion (LONG_ANSWER) is
        # left out: it states the answer (PubMedQA's reasoning-required setting).
        context = "\n".join(
            f"{label}: {text.strip()}" if label else text.strip() for label, text in zip(labels or [None] * len(contexts), contexts, strict=True)
        )
        items[rec.key] = {
            "id": rec.key,
            "question": question,
            "contexts": contexts,
            "context_labels": labels,
            "context": context,
            "answer": decision,
            "long_answer": long_answer if isinstance(long_answer, str) else "",
            "year": obj.get("YEAR"),
        }
    if not items:
        raise _no_records(path)
    return items


def read_test_ground_truth(path: Path, items: dict[str, dict[str, Any]]) -> list[str]:
    """The PMIDs of test_ground_truth.json, checked against ori_pqal.json."""
    pmids = []
    for rec in iter_json_object(path):
        if rec.value not in PUBMEDQA_LABELS:
            raise _error(path, rec, f"PMID {rec.key}: {rec.value!r} is not yes, no or maybe")
        if rec.key not in items:
            raise _error(path, rec, f"PMID {rec.key} is not in {PUBMEDQA_FILE}")
        if items[rec.key]["answer"] != rec.value:
            raise _error(path, rec, f"PMID {rec.key}: {rec.value!r} disagrees with final_decision {items[rec.key]['answer']!r} in {PUBMEDQA_FILE}")
        pmids.append(rec.key)
    return pmids
