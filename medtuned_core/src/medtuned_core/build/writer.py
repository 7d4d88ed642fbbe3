"""Writing the build output atomically: everything goes into a hidden temporary folder beside
``--out``, which is renamed into place only when the whole build succeeded. A failure or Ctrl-C
removes the temporary folder and leaves any previous output untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
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
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the output is an ordinary folder
    try:
        yield staging
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # nothing left after a successful rename


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


def save_dataset(files: dict[str, Path], folder: Path, max_shard_bytes: int = 500 * 1024 * 1024, fingerprints: dict[str, str] | None = None) -> None:
    """``folder`` in the layout of ``datasets.DatasetDict.save_to_disk`` (``load_from_disk`` reads it).

    ``save_to_disk`` re-reads a memory-mapped copy of the whole dataset, so the builder's resident
    memory would grow with the number of rows. Instead the JSONL files stream through pyarrow's JSON
    reader (single-threaded, 1 MiB blocks) into Arrow IPC stream files — the format ``datasets``
    writes — and the metadata files are written with ``datasets``' own classes.
    """
    import json

    import datasets
    import pyarrow as pa
    import pyarrow.json as pa_json

    features = datasets.Features({name: datasets.Value("string") for name in OUTPUT_FIELDS})
    features[CHAT_FIELD] = [{"role": datasets.Value("string"), "content": datasets.Value("string")}]
    schema = features.arrow_schema
    folder.mkdir(parents=True)
    (folder / datasets.config.DATASETDICT_JSON_FILENAME).write_text(json.dumps({"splits": list(files)}), encoding="utf-8")
    for split, path in files.items():
        split_dir = folder / split
        split_dir.mkdir()
        shards = _write_arrow_shards(path, split_dir, schema, max_shard_bytes, pa, pa_json)
        names = [f"data-{i:05d}-of-{len(shards):05d}.arrow" for i in range(len(shards))]
        for shard, name in zip(shards, names, strict=True):
            shard.rename(split_dir / name)
        state = {
            "_data_files": [{"filename": name} for name in names],
            "_fingerprint": (fingerprints or {}).get(split) or _fingerprint(path),
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": split,
        }
        (split_dir / datasets.config.DATASET_STATE_JSON_FILENAME).write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        datasets.DatasetInfo(features=features).write_to_directory(str(split_dir))


def _write_arrow_shards(path: Path, split_dir: Path, schema, max_shard_bytes: int, pa, pa_json) -> list[Path]:
    shards: list[Path] = []
    sink = writer = None
    written = 0

    def open_shard():
        nonlocal sink, writer, written
        shards.append(split_dir / f".shard-{len(shards):05d}.arrow")
        sink = pa.OSFile(str(shards[-1]), "wb")
        writer = pa.ipc.new_stream(sink, schema)
        written = 0

    def close_shard():
        writer.close()
        sink.close()

    open_shard()
    try:
        if path.stat().st_size:
            read = pa_json.ReadOptions(block_size=1 << 20, use_threads=False)
            parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
            for batch in pa_json.open_json(str(path), read_options=read, parse_options=parse):
                if written and written + batch.nbytes > max_shard_bytes:
                    close_shard()
                    open_shard()
                writer.write_batch(batch.select(schema.names))
                written += batch.nbytes
    finally:
        close_shard()
    return shards


def _fingerprint(path: Path) -> str:
    """A deterministic dataset fingerprint: the hash of the JSONL it was built from."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
