"""Writing the build output atomically: everything goes into a hidden temporary folder beside
``--out``, which is renamed into place only when the whole build succeeded. A failure or Ctrl-C
removes the temporary folder and leaves any previous output untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import MedTunedError

OUTPUT_FIELDS = ("instruction", "input", "output", "task", "template_id", "id")
CHAT_FIELD = "messages"  # [{"role", "content"}, ...]: the row in conversational form (render.alpaca)


@contextlib.contextmanager
def staging_folder(out: str | Path, force: bool = False) -> Iterator[Path]:
    """A temporary folder that becomes ``out`` when the block succeeds (replacing it if ``force``)."""
    out = Path(out)
    check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the output is an ordinary folder
    try:
        yield staging
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # nothing left after a successful rename


def remove_stale_staging(out: Path) -> list[Path]:
    """Delete the staging (``.OUT.xxxxxxxx.partial``) and replaced (``.old``) folders that killed builds of
    ``out`` left beside it. Called under the output lock (:mod:`medtuned_core.ownership`): no live build of
    ``out`` can own one, so every such folder is stale."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.[A-Za-z0-9_]{{8}}\.(partial|old)$")
    removed = []
    for path in out.parent.iterdir() if out.parent.is_dir() else ():
        if pattern.match(path.name) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_target(out: Path, force: bool) -> None:
    """``out`` may be absent or an empty folder; an earlier build only with ``force``."""
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        if not out.is_dir():
            raise MedTunedError(f"{out} exists and is not a folder")
        if not force:
            raise MedTunedError(f"{out} already exists; choose another --out or pass --force to replace it")
        # --force deletes the old folder: only ever an earlier build, never a folder that happens to be named.
        if not (out / "manifest.json").is_file():
            raise MedTunedError(f"{out} is not empty and holds no manifest.json (not a `medtuned build` output); refusing to replace it")


def _publish(staging: Path, out: Path) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.rename(staging, out)
        return
    # Replace an earlier build: move it aside, move the new one in, then delete the old one.
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    old.rmdir()
    os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_lines(path: Path, lines: Iterable[str]) -> tuple[int, str]:
    """Write text lines (each ending in a newline) as UTF-8; returns ``(line count, sha256)``."""
    h = hashlib.sha256()
    n = 0
    with path.open("wb", buffering=1 << 20) as fh:
        for line in lines:
            data = line.encode("utf-8")
            h.update(data)
            fh.write(data)
            n += 1
    return n, h.hexdigest()


DATA_FOLDER = "data"  # inside dataset/: the Hub's layout for data files


def output_features():
    """The ``datasets.Features`` of a build row: the Alpaca fields as strings, and ``messages`` (the row as chat
    turns, a list of role/content pairs) that TRL's SFTTrainer and axolotl read as they are."""
    import datasets

    features = datasets.Features({name: datasets.Value("string") for name in OUTPUT_FIELDS})
    features[CHAT_FIELD] = [{"role": datasets.Value("string"), "content": datasets.Value("string")}]
    return features


def save_dataset(files: dict[str, Path], folder: Path, max_shard_bytes: int = 500 * 1024 * 1024) -> dict[str, list[str]]:
    """Parquet shards of each split under ``folder/data/`` (``{split}-00000-of-00002.parquet``, the Hub's naming),
    which ``datasets.load_dataset(folder)`` and ``load_dataset("parquet", data_files=...)`` read; returns the
    shard paths per split, relative to ``folder``. An empty split gets no shard (``datasets`` cannot load one).

    The JSONL files stream through pyarrow's JSON reader (single-threaded, 1 MiB blocks) into parquet row groups,
    so memory stays flat however many rows there are, and the same JSONL gives the same bytes. The schema carries
    the ``datasets`` features, so the columns load with their declared types.
    """
    import pyarrow.json as pa_json
    import pyarrow.parquet as pq

    schema = output_features().arrow_schema
    data = folder / DATA_FOLDER
    data.mkdir(parents=True)
    written: dict[str, list[str]] = {}
    for split, path in files.items():
        if not path.stat().st_size:
            continue
        shards = _write_parquet_shards(path, data, split, schema, max_shard_bytes, pa_json, pq)
        names = [f"{split}-{i:05d}-of-{len(shards):05d}.parquet" for i in range(len(shards))]
        for shard, name in zip(shards, names, strict=True):
            shard.rename(data / name)
        written[split] = [f"{DATA_FOLDER}/{name}" for name in names]
    return written


def _write_parquet_shards(path: Path, data: Path, split: str, schema, max_shard_bytes: int, pa_json, pq) -> list[Path]:
    shards: list[Path] = []
    writer = None
    written = 0

    def open_shard():
        nonlocal writer, written
        shards.append(data / f".{split}-{len(shards):05d}.parquet.partial")
        writer = pq.ParquetWriter(str(shards[-1]), schema)
        written = 0

    open_shard()
    try:
        read = pa_json.ReadOptions(block_size=1 << 20, use_threads=False)
        parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        for batch in pa_json.open_json(str(path), read_options=read, parse_options=parse):
            if written and written + batch.nbytes > max_shard_bytes:
                writer.close()
                open_shard()
            writer.write_batch(batch.select(schema.names))
            written += batch.nbytes
    finally:
        writer.close()
    return shards
