"""The BRAT standoff loader: offsets to tokens and BIO tags, sentences, repairs, and file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from medtuned_anatem import plugin
from medtuned_anatem.loader import RepairCounts, _sentences, read_document
from medtuned_anatem.standoff import Mention
from medtuned_anatem.tasks import ANATEM
from medtuned_core.errors import CorpusFormatError, MissingDataError
from medtuned_core.plugins import make_registry

SAMPLES = Path(ANATEM.sample_data)


@pytest.fixture
def registry():
    return make_registry([plugin], autoload=False)


def write_doc(folder: Path, name: str, text: str, mentions: list[tuple[str, int, int]], extra: str = "") -> Path:
    """A .txt/.ann pair; ``mentions`` are (type, start, end) and their quoted text is taken from ``text``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_bytes(text.encode("utf-8"))
    lines = [f"T{i}\t{kind} {start} {end}\t{text[start:end]}" for i, (kind, start, end) in enumerate(mentions, 1)]
    (folder / f"{name}.ann").write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return folder / f"{name}.txt"


def span(text: str, mention: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(mention, start + 1)
    return start, start + len(mention)


def doc_examples(txt: Path) -> list[dict]:
    return list(read_document(txt, RepairCounts()))


def tagged(example: dict) -> list[tuple[str, str]]:
    return [(t, g) for t, g in zip(example["tokens"], example["tags"], strict=True) if g != "O"]


def test_sample_splits_load_with_release_layout_and_devel_alias(registry):
    counts = {split: list(registry.load(registry.get("anatem"), SAMPLES, split)) for split in ANATEM.splits}
    assert {split: len(rows) for split, rows in counts.items()} == {"train": 10, "validation": 4, "test": 5}
    train = counts["train"]
    assert len({r["id"] for r in train}) == len(train)
    by_id = {r["id"]: r for r in train}
    assert tagged(by_id["EX-TRAIN-01:2"]) == [
        ("liver", "B-Organ"),
        ("hepatocytes", "B-Cell"),
        ("portal", "B-Multi-tissue_structure"),
        ("vein", "I-Multi-tissue_structure"),
    ]
    assert by_id["EX-TRAIN-03:1"]["tokens"][:3] == ["Neuron", "-", "specific"] and by_id["EX-TRAIN-03:1"]["tags"][:3] == ["B-Cell", "O", "O"]


def test_abbreviations_and_initials_do_not_end_a_sentence(tmp_path):
    text = "Cells near the duct (e.g. in the liver) grew. Fig. 3 shows the kidney of J. Smith's mouse. Next the heart was seen.\n"
    txt = write_doc(tmp_path, "doc", text, [("Organ", *span(text, "liver")), ("Organ", *span(text, "kidney")), ("Organ", *span(text, "heart"))])
    sentences = [" ".join(e["tokens"]) for e in doc_examples(txt)]
    assert sentences == [
        "Cells near the duct ( e . g . in the liver ) grew .",
        "Fig . 3 shows the kidney of J . Smith ' s mouse .",
        "Next the heart was seen .",
    ]


def test_a_sentence_never_ends_inside_a_mention():
    text = "Seen in zone 4. Region B cells and more."
    mention = Mention("T1", "Tissue", ((8, 24),), 1)  # "zone 4. Region B"
    assert list(_sentences(text, [mention])) == [(0, len(text))]
    assert list(_sentences(text, [])) == [(0, 15), (15, len(text))]  # the first ends after its full stop


def test_a_mention_inside_a_word_cuts_the_token(tmp_path):
    text = "Many neurons and a hepatocyte-like cell."
    txt = write_doc(tmp_path, "doc", text, [("Cell", *span(text, "neuron")), ("Cell", *span(text, "hepatocyte"))])
    (example,) = doc_examples(txt)
    assert example["tokens"][:3] == ["Many", "neuron", "s"]
    assert tagged(example) == [("neuron", "B-Cell"), ("hepatocyte", "B-Cell")]


def test_offsets_count_characters_and_crlf_as_two(tmp_path):
    text = "Über die Niere\r\nThe café owner's spleen – and µm-sized nodules.\r\n"
    mentions = [("Organ", *span(text, "Niere")), ("Organ", *span(text, "spleen")), ("Pathological_formation", *span(text, "nodules"))]
    txt = write_doc(tmp_path, "doc", text, mentions)
    first, second = doc_examples(txt)
    assert tagged(first) == [("Niere", "B-Organ")]
    assert tagged(second) == [("spleen", "B-Organ"), ("nodules", "B-Pathological_formation")]


def test_repeated_words_get_their_own_tags(tmp_path):
    text = "The liver and the liver capsule."
    txt = write_doc(tmp_path, "doc", text, [("Organ", *span(text, "liver")), ("Tissue", *span(text, "liver capsule"))])
    (example,) = doc_examples(txt)
    assert example["tags"] == ["O", "B-Organ", "O", "O", "B-Tissue", "I-Tissue", "O"]


def test_overlaps_keep_the_longest_and_discontinuous_spans_are_joined_with_a_warning(tmp_path, registry):
    folder = tmp_path / "AnatEM" / "train"
    text = "The left heart ventricle and the upper and lower lip."
    heart = span(text, "heart")
    ventricle = span(text, "heart ventricle")
    upper, lip = span(text, "upper"), span(text, "lip")
    write_doc(folder, "doc", text, [("Organ", *heart), ("Multi-tissue_structure", *ventricle)])
    (folder / "doc.ann").write_text(
        (folder / "doc.ann").read_text() + f"T3\tOrganism_subdivision {upper[0]} {upper[1]};{lip[0]} {lip[1]}\tupper lip\n", encoding="utf-8"
    )
    with pytest.warns(UserWarning, match=r"1 overlapping mention\(s\) dropped .* 1 discontinuous"):
        (example,) = list(registry.load(registry.get("anatem"), tmp_path, "train"))
    assert tagged(example) == [
        ("heart", "B-Multi-tissue_structure"),
        ("ventricle", "I-Multi-tissue_structure"),
        ("upper", "B-Organism_subdivision"),
        ("and", "I-Organism_subdivision"),
        ("lower", "I-Organism_subdivision"),
        ("lip", "I-Organism_subdivision"),
    ]


def test_other_annotation_kinds_are_skipped(tmp_path):
    text = "The aorta wall."
    extra = "R1\tPart-of Arg1:T1 Arg2:T1\n#1\tAnnotatorNotes T1\tchecked\nA1\tNegated T1\nN1\tReference T1 UBERON:0000947\tAorta\n*\tEquiv T1 T1\n"
    txt = write_doc(tmp_path, "doc", text, [("Multi-tissue_structure", *span(text, "aorta"))], extra)
    assert tagged(doc_examples(txt)[0]) == [("aorta", "B-Multi-tissue_structure")]


@pytest.mark.parametrize(
    ("ann_line", "message"),
    [
        ("T2\tOrgan 4 9 liver", r"expected 'T<n><TAB><type>"),
        ("T2\tOrgan 4 9\tlivre", r"offsets read 'aorta' in the \.txt but the annotation says 'livre'"),
        ("T2\tOrgan 4 99\taorta", r"span 4-99 is empty, out of order or beyond the 15 characters"),
        ("T2\tOrgan 9 4\taorta", r"span 9-4 is empty, out of order"),
        ("X2\tOrgan 4 9\taorta", r"unknown annotation id 'X2'"),
        ("T2\tBone 4 9\taorta", r"unknown entity type 'Bone'"),
    ],
)
def test_malformed_annotation_names_the_file_and_line(tmp_path, ann_line, message):
    text = "The aorta wall."
    txt = write_doc(tmp_path, "doc", text, [("Multi-tissue_structure", *span(text, "aorta"))], ann_line + "\n")
    with pytest.raises(CorpusFormatError, match=r"doc\.ann:2: " + message):
        doc_examples(txt)


def test_a_document_without_annotation_file_is_an_error(tmp_path, registry):
    folder = tmp_path / "AnatEM" / "standoff" / "test"
    folder.mkdir(parents=True)
    (folder / "lonely.txt").write_text("Nothing annotated.", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"lonely\.txt: no annotation file lonely\.ann"):
        list(registry.load(registry.get("anatem"), tmp_path, "test"))


def test_missing_folder_and_missing_split_say_where_and_how(tmp_path, registry):
    with pytest.raises(MissingDataError, match=r"AnatEM.*NaCTeM"):
        list(registry.load(registry.get("anatem"), tmp_path, "train"))
    (tmp_path / "AnatEM" / "dev").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"split 'train'; looked for: standoff/train, train"):
        list(registry.load(registry.get("anatem"), tmp_path, "train"))
    with pytest.raises(CorpusFormatError, match=r"no \.txt documents"):
        list(registry.load(registry.get("anatem"), tmp_path, "validation"))  # "dev" is found as validation, but it is empty
