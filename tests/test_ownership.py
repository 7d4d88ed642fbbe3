"""medtuned_core.ownership (the output-folder lock) and train/outdir.py (what a training run may write and delete)."""

from __future__ import annotations

import json
import os

import pytest

from medtuned_core.errors import MedTunedError
from medtuned_core.ownership import FolderBusyError, OutputLock, lock_path, owns_output
from medtuned_core.train.outdir import claim_run_folder, remove_checkpoints


def test_the_lock_lives_beside_the_folder_records_its_holder_and_goes_on_release(tmp_path):
    out = tmp_path / "out"
    with OutputLock(out, "medtuned build --out out") as lock:
        assert lock.path == lock_path(out) == tmp_path / ".out.lock"
        record = json.loads(lock.path.read_text())
        assert record["pid"] == os.getpid() and record["command"] == "medtuned build --out out" and record["host"] and record["started"]
        with pytest.raises(FolderBusyError, match=f"in use by pid {os.getpid()} on .*`medtuned build --out out`, started"):
            OutputLock(out).__enter__()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no lock file, no folder: nothing left


def test_missing_parents_are_made_for_the_lock_and_removed_when_the_run_wrote_nothing(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with OutputLock(out):
        assert lock_path(out).is_file()
    assert not (tmp_path / "a").exists()
    with OutputLock(out):
        out.mkdir()  # the run's output keeps its parents
    assert out.is_dir() and not lock_path(out).exists()


def test_a_lock_record_left_by_a_dead_process_does_not_hold_the_folder(tmp_path):
    out = tmp_path / "out"
    lock_path(out).write_text(json.dumps({"pid": 999999, "host": "gone", "command": "medtuned build", "started": "yesterday"}))
    with OutputLock(out):
        assert json.loads(lock_path(out).read_text())["pid"] == os.getpid()


def test_owns_output_locks_the_named_argument_and_cleans_up_on_error(tmp_path):
    seen = []

    def forget(out, before):
        seen.append((out.name, before))
        (out / "partial.txt").unlink(missing_ok=True)

    @owns_output("out", on_error=forget)
    def run(data, out, fail=False):
        assert lock_path(out).is_file()
        out.mkdir(exist_ok=True)
        (out / "partial.txt").write_text("x")
        if fail:
            raise RuntimeError("boom")
        return "done"

    assert run("d", tmp_path / "o") == "done"
    with pytest.raises(RuntimeError):
        run("d", out=tmp_path / "p", fail=True)
    assert seen == [("p", None)] and list((tmp_path / "p").iterdir()) == []
    assert owns_output(lambda **kw: None)(lambda out: "no lock")(tmp_path / "q") == "no lock"


# -- train/outdir.py --------------------------------------------------------------------------------------

CONFIG = {"model": "m", "data": "d", "out": "o", "learning_rate": 1e-4, "resume": False}


def test_a_fresh_or_empty_folder_or_the_same_configuration_may_be_used(tmp_path):
    claim_run_folder(tmp_path / "absent", CONFIG, resume=False, overwrite=False)
    (tmp_path / "empty").mkdir()
    claim_run_folder(tmp_path / "empty", CONFIG, resume=False, overwrite=False)
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_config.json").write_text(json.dumps({"config": {**CONFIG, "resume": True}}))
    claim_run_folder(run, CONFIG, resume=False, overwrite=False)  # resume alone is no different configuration


def test_another_configuration_needs_resume_or_overwrite_and_overwrite_deletes_only_ours(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints" / "checkpoint-4").mkdir(parents=True)
    (run / "checkpoints" / "notes.txt").write_text("mine")
    (run / "model").mkdir()
    (run / "model" / "model.safetensors").write_text("w")
    (run / "run_config.json").write_text(json.dumps({"config": {**CONFIG, "learning_rate": 1e-5}}))
    (run / "metrics.json").write_text("{}")
    (run / "my-analysis.ipynb").write_text("{}")
    with pytest.raises(MedTunedError, match=r"other settings \(learning_rate: 1e-05 -> 0.0001\)"):
        claim_run_folder(run, CONFIG, resume=False, overwrite=False)
    claim_run_folder(run, CONFIG, resume=True, overwrite=False)
    assert (run / "checkpoints" / "checkpoint-4").is_dir()
    claim_run_folder(run, CONFIG, resume=False, overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "my-analysis.ipynb"]
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["notes.txt"]


def test_remove_checkpoints_keeps_a_users_files(tmp_path):
    folder = tmp_path / "checkpoints"
    for name in ("checkpoint-2", "checkpoint-10", "checkpoint-best"):
        (folder / name).mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    remove_checkpoints(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint-best", "notes.txt"]
    only_ours = tmp_path / "c2"
    (only_ours / "checkpoint-1").mkdir(parents=True)
    remove_checkpoints(only_ours)
    assert not only_ours.exists()
