"""Loaders: the shipped samples, options, and every kind of bad input (file and line in the error)."""

from __future__ import annotations

from collections import Counter

import pytest

from medtuned_core import CorpusFormatError, MissingDataError
from medtuned_core.corpus import MissingSplitError
from medtuned_tasks_re.loader import LABELS, TaskOptionError, gad_fold
from medtuned_tasks_re.tasks import GAD, I2B2_2010

GOOD_TRAIN = "The @GENE$ variant raised the risk of @DISEASE$.\t1\nNo link between @GENE$ and @DISEASE$ was seen.\t0\n"
GOOD_TEST = "index\tsentence\tlabel\n0\t@GENE$ carriers had more @DISEASE$.\t1\n1\t@GENE$ was sequenced in @DISEASE$ cases.\t0\n"
I2B2_HEADER = "index\tsentence\tlabel\n"
I2B2_ROW = "d1.d1.con.l0.d1.con.l1\t@treatment$ was given for @problem$ .\tTrAP\n"


def load(registry, task, root, split, **options):
    return list(registry.load(registry.get(task), root, split, options))


# --- GAD: samples and options --------------------------------------------------------------------


@pytest.mark.parametrize("fold", [1, 2, 3])
def test_gad_sample_folds_are_a_cross_validation_split(registry, samples, fold):
    train = load(registry, GAD, samples, "train", fold=fold)
    test = load(registry, GAD, samples, "test", fold=fold)
    assert (len(train), len(test)) == (100, 50)
    assert [r["id"] for r in test] == [str(i) for i in range(50)]  # the index column
    assert [r["id"] for r in train] == [str(i) for i in range(100)]  # row numbers: train.tsv has no index
    assert {r["fold"] for r in train + test} == {fold}
    everything = Counter((r["sentence"], r["label"]) for f in (1, 2, 3) for r in load(registry, GAD, samples, "test", fold=f))
    assert Counter((r["sentence"], r["label"]) for r in train + test) == everything
    assert {r["label"] for r in test} == {"0", "1"}


def test_gad_default_fold_is_1_and_string_folds_work(registry, samples):
    assert load(registry, GAD, samples, "test") == load(registry, GAD, samples, "test", fold=1)
    assert load(registry, GAD, samples, "test", fold="2") == load(registry, GAD, samples, "test", fold=2)
    assert load(registry, GAD, samples, "test", fold=2) != load(registry, GAD, samples, "test", fold=1)


@pytest.mark.parametrize("bad", [0, 11, -1, "x", "1.5", 2.0, True, None, ""])
def test_gad_fold_out_of_range_is_a_clear_error(bad):
    with pytest.raises(TaskOptionError, match="fold"):
        gad_fold({"fold": bad})


def test_gad_fold_10_is_valid_but_missing_here(registry, samples):
    assert gad_fold({"fold": 10}) == 10
    with pytest.raises(MissingDataError, match="Fold 4 is missing"):
        load(registry, GAD, samples, "test", fold=4)


def test_gad_missing_split_file(registry, write):
    root = write("GAD/1/train.tsv", GOOD_TRAIN)
    with pytest.raises(MissingSplitError, match="test.tsv"):
        load(registry, GAD, root, "test")


def test_gad_keeps_quotes_and_tolerates_crlf_bom_and_trailing_blank_lines(registry, write):
    root = write("GAD/1/train.tsv", '\ufeffThe "rare" allele of @GENE$ raised @DISEASE$ risk.\t1\r\nNo @GENE$ effect on @DISEASE$.\t0\r\n\r\n\n')
    rows = load(registry, GAD, root, "train")
    assert [r["sentence"] for r in rows] == ['The "rare" allele of @GENE$ raised @DISEASE$ risk.', "No @GENE$ effect on @DISEASE$."]
    assert [r["label"] for r in rows] == ["1", "0"]


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("train.tsv", "sentence\tlabel\n" + GOOD_TRAIN, 1, "header"),
        ("train.tsv", GOOD_TEST, 1, "header"),
        ("train.tsv", GOOD_TRAIN + "0\tA @GENE$ and @DISEASE$ row with an index.\t1\n", 3, "expected 2 tab-separated columns"),
        ("train.tsv", GOOD_TRAIN + "A sentence without a label.\n", 3, "expected 2 tab-separated columns"),
        ("train.tsv", GOOD_TRAIN + "Label two for @GENE$ and @DISEASE$.\t2\n", 3, "unknown label '2'"),
        ("train.tsv", GOOD_TRAIN + "\t1\n", 3, "empty sentence"),
        ("train.tsv", GOOD_TRAIN.replace("\n", "\n\n", 1), 2, "blank line inside the data"),
        ("train.tsv", "", None, "empty"),
        ("train.tsv", "\n\n", None, "empty"),
        ("test.tsv", GOOD_TRAIN, 1, "expected the header"),
        ("test.tsv", GOOD_TEST.replace("index\tsentence\tlabel\n", ""), 1, "expected the header"),
        ("test.tsv", "id\ttext\tlabel\n0\tx @GENE$ @DISEASE$\t1\n", 1, "expected the header"),
        ("test.tsv", GOOD_TEST + "2\tA @GENE$ and @DISEASE$ row without a label.\n", 4, "expected 3 tab-separated columns"),
        ("test.tsv", GOOD_TEST + "2\tyes\t@GENE$ and @DISEASE$\t1\n", 4, "expected 3 tab-separated columns"),
        ("test.tsv", GOOD_TEST + "2\tA @GENE$ and @DISEASE$ row.\tPositive\n", 4, "unknown label 'Positive'"),
        ("test.tsv", GOOD_TEST + "1\tThe same index again for @GENE$, @DISEASE$.\t0\n", 4, "duplicate index '1' \\(first on line 3\\)"),
        ("test.tsv", "index\tsentence\tlabel\n", 1, "no data rows"),
        ("test.tsv", "", None, "empty"),
    ],
)
def test_gad_bad_input_names_file_and_line(registry, write, name, text, line, message):
    other = "test.tsv" if name == "train.tsv" else "train.tsv"
    root = write(f"GAD/1/{name}", text)
    write(f"GAD/1/{other}", GOOD_TEST if other == "test.tsv" else GOOD_TRAIN)
    with pytest.raises(CorpusFormatError, match=message) as err:
        load(registry, GAD, root, name.removesuffix(".tsv"))
    assert err.value.path.endswith(f"GAD/1/{name}") and err.value.line == line
    assert name in str(err.value)


# --- i2b2-2010 ------------------------------------------------------------------------------------


def test_i2b2_samples_all_splits(registry, samples):
    for split in ("train", "validation", "test"):
        rows = load(registry, I2B2_2010, samples, split)
        assert 60 <= len(rows) <= 100
        assert {r["label"] for r in rows} == set(LABELS[I2B2_2010])  # all 8 relation types and false
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids))
        assert any(r["id"].endswith("#2") for r in rows), "a pair with two relations gets a second id"
        assert all("@" in r["sentence"] for r in rows)


def test_i2b2_validation_reads_dev_tsv(registry, write):
    root = write("i2b2-2010/dev.tsv", I2B2_HEADER + I2B2_ROW)
    assert [r["id"] for r in load(registry, I2B2_2010, root, "validation")] == ["d1.d1.con.l0.d1.con.l1"]


def test_i2b2_two_relations_on_one_pair_get_distinct_ids(registry, write):
    row2 = I2B2_ROW.replace("TrAP", "TrIP")
    root = write("i2b2-2010/test.tsv", I2B2_HEADER + I2B2_ROW + row2 + I2B2_ROW.replace("l1", "l2").replace("TrAP", "false"))
    rows = load(registry, I2B2_2010, root, "test")
    assert [(r["id"], r["index"], r["label"]) for r in rows] == [
        ("d1.d1.con.l0.d1.con.l1", "d1.d1.con.l0.d1.con.l1", "TrAP"),
        ("d1.d1.con.l0.d1.con.l1#2", "d1.d1.con.l0.d1.con.l1", "TrIP"),
        ("d1.d1.con.l0.d1.con.l2", "d1.d1.con.l0.d1.con.l2", "false"),
    ]


def test_i2b2_csv_quoting_is_decoded(registry, write):
    # BLUE writes with csv.writer: a sentence holding a quote is wrapped in quotes, inner quotes doubled.
    quoted = 'd1.d1.con.l3.d1.con.l4\t"She said ""@treatment$ gave me @problem$"" today ."\tTrCP\n'
    root = write("i2b2-2010/train.tsv", I2B2_HEADER + quoted)
    (row,) = load(registry, I2B2_2010, root, "train")
    assert row["sentence"] == 'She said "@treatment$ gave me @problem$" today .'
    assert row["label"] == "TrCP"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (I2B2_ROW + I2B2_ROW, 1, "expected the header"),  # header missing
        ("index\tsentence\n" + I2B2_ROW, 1, "expected the header"),
        (I2B2_HEADER + "d1.x\t@test$ showed @problem$ .\n", 2, "expected 3 tab-separated columns"),
        (I2B2_HEADER + I2B2_ROW + "d1.x\t@test$ showed @problem$ .\tTeRP\textra\n", 3, "expected 3 tab-separated columns"),
        (I2B2_HEADER + I2B2_ROW.replace("TrAP", "TrXP"), 2, "unknown label 'TrXP'"),
        (I2B2_HEADER + I2B2_ROW.replace("TrAP", "No Relations"), 2, "unknown label 'No Relations'"),  # the output form, not BLUE's
        (I2B2_HEADER + I2B2_ROW + I2B2_HEADER, 3, "unknown label 'label'"),  # a second header inside the data
        (I2B2_HEADER + I2B2_ROW.replace("@treatment$ was given for @problem$ .", ""), 2, "empty index or sentence"),
        (I2B2_HEADER + "\n" + I2B2_ROW, 2, "blank line inside the data"),
        (I2B2_HEADER + 'd1.x\t"unterminated quote @test$ @problem$\tTeRP\n', 2, "malformed CSV"),
        (I2B2_HEADER, 1, "no data rows"),
        ("", None, "empty"),
    ],
)
def test_i2b2_bad_input_names_file_and_line(registry, write, text, line, message):
    root = write("i2b2-2010/test.tsv", text)
    with pytest.raises(CorpusFormatError, match=message) as err:
        load(registry, I2B2_2010, root, "test")
    assert err.value.path.endswith("i2b2-2010/test.tsv") and err.value.line == line


def test_i2b2_missing_folder_says_how_to_obtain(registry, tmp_path):
    with pytest.raises(MissingDataError, match="n2c2"):
        load(registry, I2B2_2010, tmp_path, "test")
