"""The streaming pieces of the builder: selection sampling, the external shuffle, the leakage index."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from medtuned_core.build.leakage import EvalIndex, normalise
from medtuned_core.build.sampler import EntrySampler
from medtuned_core.build.shuffle import ExternalShuffle, row_key
from medtuned_core.build.spec import MixEntry, Take
from medtuned_core.errors import MedTunedError


def rows(n: int, sources: dict[str, int] | None = None):
    if sources is None:
        return [{"id": str(i)} for i in range(n)]
    out = [{"id": f"{s}{i}", "source": s} for s, k in sources.items() for i in range(k)]
    random.Random(0).shuffle(out)  # sources interleaved, as in a real release
    return out


def sample(entry: MixEntry, data: list[dict], seed: int = 0, has_sources: bool = False) -> tuple[EntrySampler, list[dict]]:
    sampler = EntrySampler(entry, seed, has_sources)
    if sampler.needs_count:
        sampler.count(iter(data))
    else:
        sampler.plan(None)
    return sampler, list(sampler.select(iter(data)))


def test_count_takes_exactly_that_many_in_corpus_order():
    data = rows(1000)
    sampler, picked = sample(MixEntry("t", take=Take("count", 137)), data)
    assert len(picked) == 137 == sampler.selected
    ids = [int(r["id"]) for r in picked]
    assert ids == sorted(ids) and len(set(ids)) == 137


def test_fraction_and_all():
    assert len(sample(MixEntry("t", take=Take("fraction", 0.25)), rows(402))[1]) == 101  # 100.5 rounds up
    sampler, picked = sample(MixEntry("t"), rows(55))
    assert len(picked) == 55 and not sampler.counted and sampler.rows_seen == 55


def test_selection_is_seeded():
    data = rows(500)
    entry = MixEntry("t", take=Take("count", 50))
    first = sample(entry, data, seed=1)[1]
    assert first == sample(entry, data, seed=1)[1]
    assert first != sample(entry, data, seed=2)[1]
    # An entry's own seed overrides the build seed for its selection.
    pinned = MixEntry("t", take=Take("count", 50), seed=9)
    assert sample(pinned, data, seed=1)[1] == sample(pinned, data, seed=2)[1]


def test_selection_is_uniform():
    hits = Counter()
    entry = MixEntry("t", take=Take("count", 5))
    for seed in range(2000):
        hits.update(r["id"] for r in sample(entry, rows(20), seed=seed)[1])
    # Each row has probability 5/20: 500 expected in 2000 draws; 4 sigma is about 77.
    assert all(abs(hits[str(i)] - 500) < 80 for i in range(20)), hits


def test_per_source_quotas_and_shortfalls():
    data = rows(0, {"a": 300, "b": 100, "c": 7, "d": 50})
    entry = MixEntry("t", sources=(("a", Take("count", 40)), ("b", Take("fraction", 0.5)), ("c", Take("count", 20))))
    sampler, picked = sample(entry, data, has_sources=True)
    assert Counter(r["source"] for r in picked) == {"a": 40, "b": 50, "c": 7}  # d not listed: none
    assert sampler.source_seen == {"a": 300, "b": 100, "c": 7, "d": 50}
    assert sampler.shortfalls == [{"source": "c", "requested": 20, "available": 7}]


def test_whole_task_sampling_spans_sources():
    data = rows(0, {"a": 500, "b": 500})
    sampler, picked = sample(MixEntry("t", take=Take("count", 200)), data, has_sources=True)
    by_source = Counter(r["source"] for r in picked)
    assert sum(by_source.values()) == 200 and 60 < by_source["a"] < 140
    assert sampler.shortfalls == []


def test_per_source_needs_a_source_field():
    entry = MixEntry("t", sources=(("a", Take("all")),))
    with pytest.raises(MedTunedError, match="has no `source` field"):
        sample(entry, [{"id": "1"}], has_sources=True)


def test_data_that_changes_between_passes_is_an_error():
    sampler = EntrySampler(MixEntry("t", take=Take("count", 3)), 0, False)
    sampler.count(iter(rows(10)))
    with pytest.raises(MedTunedError, match="gave 12 rows .* but 10 when counted"):
        list(sampler.select(iter(rows(12))))


@pytest.mark.parametrize("budget", [10**9, 2000, 200])
def test_external_shuffle_is_a_sort_by_key_at_any_memory_budget(tmp_path, budget):
    keys = [row_key(3, "t", "train", "{}", str(i)) for i in range(3000)]
    shuffle = ExternalShuffle(tmp_path / "s", max_shard_bytes=budget)
    for i, key in enumerate(keys):
        shuffle.add(key, f'{{"id": "{i}"}}')
    out = list(shuffle.lines())
    expected = [f'{{"id": "{i}"}}\n' for _, i in sorted((k, i) for i, k in enumerate(keys))]
    assert out == expected and shuffle.rows == 3000
    assert not any((tmp_path / "s").iterdir())  # shard files are removed as they are drained


def test_shuffle_keys_depend_on_seed_and_identity():
    assert row_key(1, "t", "train", "{}", "5") == row_key(1, "t", "train", "{}", "5")
    assert len({row_key(s, "t", "train", "{}", "5") for s in range(50)}) == 50
    assert row_key(1, "t", "train", "{}", "5") != row_key(1, "u", "train", "{}", "5")
    assert row_key(1, "t", "train", '{"fold": 1}', "5") != row_key(1, "t", "train", '{"fold": 2}', "5")


def test_eval_index_counts_overlaps_per_pair():
    index = EvalIndex()
    index.add_split("chem/validation", [{"input": "Aspirin  eased the\tpain ."}, {"input": "  "}, {"input": "Only chem."}])
    index.add_split("disease/validation", [{"input": "Aspirin eased the pain ."}, {"input": "Only disease."}])
    assert index.leaks("chem/train", " Aspirin eased the pain . ")  # whitespace differences do not hide a copy
    assert index.leaks("disease/train", "Only disease.")
    assert not index.leaks("chem/train", "Aspirin eased the pain")
    assert not index.leaks("chem/train", "")  # blank inputs are not compared
    assert not index.leaks("chem/train", "only chem.")  # case matters
    report = index.to_json()
    assert report["dropped"] == [
        {"train": "chem/train", "eval": "chem/validation", "rows": 1},
        {"train": "chem/train", "eval": "disease/validation", "rows": 1},
        {"train": "disease/train", "eval": "disease/validation", "rows": 1},
    ]
    assert report["dropped_rows"] == 2
    assert report["checked"] == [{"split": "chem/validation", "inputs": 3}, {"split": "disease/validation", "inputs": 2}]
    assert normalise(" a \n b ") == "a b"
