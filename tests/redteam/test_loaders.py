"""Every loader of every installed task, against the same table of corruptions (tests/redteam/corruptions.py).

Cases are discovered: each installed task's shipped samples are loaded while the files each split opens
are recorded, so a new task package or a rewritten loader is covered without editing this file. Each
case corrupts one file in a copy of the task's sample folder and runs ``medtuned render`` in-process.
BOM and CRLF must give the clean file's rows; every other corruption must be refused with one line
naming the file, a non-zero exit and no output file.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest
from redteam.corruptions import CORRUPTIONS, columnar, invalid_utf8, recording_opens, unreadable
from redteam.harness import invoke, medtuned, nothing_left, refused, refused_subprocess

from medtuned_core.errors import MissingDataError
from medtuned_core.plugins import make_registry


@functools.cache
def installed():
    """The installed plugins (every entry point, whatever MEDTUNED_PLUGINS says in the calling shell)."""
    import os

    saved = os.environ.pop("MEDTUNED_PLUGINS", None)
    try:
        return make_registry()
    finally:
        if saved is not None:
            os.environ["MEDTUNED_PLUGINS"] = saved


def discover() -> list[tuple[str, str, str]]:
    """``(task, split, file relative to the task's data folder)`` for every file a split's loader opens."""
    reg = installed()
    cases = []
    for task in sorted(reg.tasks.values(), key=lambda t: t.name):
        if not task.sample_data:
            continue
        folder = (Path(task.sample_data) / task.data_folder).resolve()
        for split in task.splits:
            with recording_opens() as seen:
                try:
                    for _ in reg.load(task, task.sample_data, split):
                        pass
                except (MissingDataError, FileNotFoundError):
                    continue  # no sample for this split
            files = sorted({Path(p).resolve() for p in seen} & {p.resolve() for p in folder.rglob("*") if p.is_file()})
            cases += [(task.name, split, f.relative_to(folder).as_posix()) for f in files]
    return cases


CASES = discover()

# Files a format allows to be empty, by suffix, with the reason (an empty file there is data, not damage).
MAY_BE_EMPTY = {".ann": "brat standoff: an empty .ann is a document without entities"}
# Text that another file indexes by character offset: adding CRs moves every offset after them, so CRLF is
# a change of data there, and a one-line refusal naming the indexing file is as right as the same rows.
OFFSET_INDEXED = {(".txt", ".ann"): "brat standoff: .ann offsets count the .txt's characters exactly"}


def _copy(task, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(Path(task.sample_data) / task.data_folder, root / task.data_folder)
    return root


def _render(root: Path, task: str, split: str, out: Path, monkeypatch):
    return invoke("render", task, "--data-dir", root, "--split", split, "--out", out, registry=installed(), monkeypatch=monkeypatch)


@functools.cache
def _clean_rows(task_name: str, split: str) -> tuple[str, ...]:
    from medtuned_core.render import alpaca, render_split

    reg = installed()
    task = reg.get(task_name)
    return tuple(json.dumps(alpaca(r), sort_keys=True) for r in render_split(reg, task, task.sample_data, split))


def test_every_installed_task_with_samples_is_covered():
    covered = {task for task, _, _ in CASES}
    with_samples = {t.name for t in installed().tasks.values() if t.sample_data}
    assert with_samples and covered == with_samples, sorted(with_samples - covered)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda c: c.name)
@pytest.mark.parametrize(("task", "split", "file"), CASES, ids=["/".join(c) for c in CASES])
def test_loader_corruption(task, split, file, corruption, tmp_path, monkeypatch):
    info = installed().get(task)
    root = _copy(info, tmp_path)
    target = root / info.data_folder / file
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "rows.jsonl"
    if corruption.name == "directory":
        target.unlink()
        target.mkdir()
        result = _render(root, task, split, out, monkeypatch)
    elif corruption.name == "unreadable":
        with unreadable(target):
            result = _render(root, task, split, out, monkeypatch)
    else:
        data = target.read_bytes()
        if corruption.name == "wrong-columns" and not columnar(data):
            pytest.skip("plain text: no columns to get wrong")
        target.write_bytes(corruption.edit(data))
        result = _render(root, task, split, out, monkeypatch)
    if corruption.name == "empty" and target.suffix in MAY_BE_EMPTY:
        assert result.exit_code == 0, result.output[-2000:]  # MAY_BE_EMPTY says why
        return
    indexed = any(target.suffix == text and target.with_suffix(index).exists() for text, index in OFFSET_INDEXED)
    if corruption.name == "crlf" and indexed and result.exit_code != 0:
        refused(result, target.with_suffix(".ann").name)  # OFFSET_INDEXED says why
        return
    if corruption.same_rows:
        assert result.exit_code == 0, result.output[-2000:]
        rows = tuple(json.dumps(json.loads(line), sort_keys=True) for line in out.read_text(encoding="utf-8").splitlines())
        assert rows == _clean_rows(task, split), f"{corruption.name}: rows differ from the clean file's"
        return
    message = refused(result)
    # The file, or for a format of several files per document (brat .txt + .ann) the one found inconsistent.
    same_document = {p.name for p in target.parent.iterdir() if p.stem == target.stem} | {target.name}
    assert any(name in message for name in same_document), f"{target.name} not named in: {message}"
    nothing_left(out_dir)


REAL_PROCESS = [CASES[0], CASES[-1]] if CASES else []


@pytest.mark.parametrize(("task", "split", "file"), REAL_PROCESS, ids=["/".join(c) for c in REAL_PROCESS])
def test_a_corrupt_file_in_a_real_process_exits_1_without_a_traceback(task, split, file, tmp_path):
    info = installed().get(task)
    root = _copy(info, tmp_path)
    target = root / info.data_folder / file
    target.write_bytes(invalid_utf8(target.read_bytes()))
    out = tmp_path / "rows.jsonl"
    proc = medtuned("render", task, "--data-dir", root, "--split", split, "--out", out, env={"MEDTUNED_PLUGINS": info.package})
    line = refused_subprocess(proc, target.name)
    assert "UTF-8" in line and not out.exists()
