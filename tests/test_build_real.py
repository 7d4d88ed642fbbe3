"""`medtuned build` on the real corpora through the installed task packages (skips without either)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from build_helpers import write_spec

from medtuned_core.build import build_mix, load_preset, load_spec
from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.testing import requires_corpora, shared_corpora

pytestmark = requires_corpora()

NEEDED = ("ncbi-disease", "bc5cdr-chem", "bc5cdr-disease")

MIX = """
name = "real-small"
seed = 11

[[entries]]
task = "ncbi-disease"
take = 400

[[entries]]
task = "bc5cdr-chem"
take = 300

[[eval]]
task = "bc5cdr-disease"
split = "validation"

[[eval]]
task = "ncbi-disease"
split = "validation"
"""


@pytest.fixture(scope="module")
def registry():
    reg = make_registry()
    absent = [t for t in NEEDED if t not in reg.tasks]
    if absent:
        pytest.skip(f"task packages providing {', '.join(absent)} are not installed")
    return reg


def test_small_real_mix_is_deterministic_and_leak_free(tmp_path, registry):
    root = shared_corpora()
    spec = load_spec(write_spec(tmp_path / "mix.toml", MIX))
    first = build_mix(spec, root, tmp_path / "a", registry=registry, write_dataset=False)
    build_mix(spec, root, tmp_path / "b", registry=registry, write_dataset=False)
    for name in ("train.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    rows = [json.loads(line) for line in (tmp_path / "a" / "train.jsonl").read_text().splitlines()]
    dropped = first.manifest["leakage"]["dropped_rows"]
    assert Counter(r["task"] for r in rows) == {
        "ncbi-disease": 400 - first.manifest["entries"][0]["dropped_leaking"],
        "bc5cdr-chem": 300 - first.manifest["entries"][1]["dropped_leaking"],
    }
    assert len(rows) == 400 + 300 - dropped
    eval_inputs = {
        " ".join(r["input"].split()) for t in ("bc5cdr-disease", "ncbi-disease") for r in render_split(registry, registry.get(t), root, "validation")
    }
    assert not {" ".join(r["input"].split()) for r in rows} & eval_inputs

    # The manifest's input hashes are those the corpora ship in SHA256SUMS.
    sums = dict(reversed(line.split(None, 1)) for line in (root / "SHA256SUMS").read_text().splitlines() if line.strip())
    files = first.manifest["inputs"]["ncbi-disease"]["files"]
    assert files and all(sums[f"NCBI-disease/{name}"] == digest for name, digest in files.items())


def test_paper_preset_names_only_installed_tasks_and_real_splits(registry):
    """Presets are data: every task they name that is installed must have the split they use."""
    for name in ("paper", "paper-ablation"):
        spec = load_preset(name)
        for item in (*spec.entries, *spec.evals):
            task = registry.tasks.get(item.task)
            if task is not None:
                assert item.split in task.splits, (name, item.label)
                for source, _ in getattr(item, "sources", ()):
                    assert source in task.sources, (name, item.label, source)


def test_sample_data_of_every_installed_task_builds_in_one_mix(tmp_path, registry):
    """Every installed task (ours or a third party's) goes through the generic path: one data root
    linking each task's shipped sample folder, one entry per task, missing train files allowed."""
    root = tmp_path / "samples"
    root.mkdir()
    entries = []
    for task in sorted(registry.tasks.values(), key=lambda t: t.name):
        folder = Path(task.sample_data or "", task.data_folder)
        if task.sample_data and folder.is_dir() and "train" in task.splits and not (root / task.data_folder).exists():
            (root / task.data_folder).symlink_to(folder, target_is_directory=True)
            entries.append({"task": task.name, "take": 3})
    if not entries:
        pytest.skip("no installed task ships sample data")
    spec = load_spec(write_spec(tmp_path / "samples.json", json.dumps({"entries": entries})))
    result = build_mix(spec, root, tmp_path / "out", registry=registry, allow_missing=True, write_dataset=False)
    built = result.manifest["counts"]["train"]
    absent = {m["task"] for m in result.manifest["missing"]}
    assert all(m["reason"] == "file not found" for m in result.manifest["missing"])  # only split files may lack
    assert set(built) | absent == {e["task"] for e in entries}
    assert all(0 < n <= 3 for n in built.values())
