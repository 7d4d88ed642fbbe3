"""Write a new task plugin distribution from the templates in ``template/`` (``string.Template`` files).

The output is a complete, installable package that passes its own tests: ``pyproject.toml`` with the
``medtuned.plugins`` entry point, the task declared in ``src/<package>/tasks/<name>.toml`` on a kit (the
tagging kit for ``ner``, the labels kit for the other families), a two-line ``__init__`` that makes the
declaration a plugin, a sample of the data format, and tests built on the core's conformance kit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import MedTunedError
from ..kits.tagging.scheme import OUTSIDE, SCHEMES
from .families import STARTERS

# Readers a scaffold may start with, per kit (the first is the default).
READERS = {"tagging": ("conll", "jsonl"), "labels": ("jsonl", "tsv")}
_SCHEME_WORDS = {
    "iob1": "I for a token of a mention (B for the first token of a mention that directly follows another) and O for any other token",
    "iob2": "B for the first token of a mention, I for a following token of the same mention and O for any other token",
    "iobes": "S for a one-token mention, B, I and E for the first, inner and last token of a longer one, and O for any other token",
    "bilou": "U for a one-token mention, B, I and L for the first, inner and last token of a longer one, and O for any other token",
}

# Stricter than TaskInfo's name rule: the name must also give a Python package name and a TOML key.
TASK_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class ScaffoldError(MedTunedError):
    """The plugin cannot be scaffolded as asked (bad name, occupied folder)."""


def package_name(task: str) -> str:
    return "medtuned_" + task.replace("-", "_")


def check_name(task: str) -> None:
    if not TASK_NAME.match(task):
        raise ScaffoldError(
            f"task name {task!r} must be lower-case letters and digits, starting with a letter, with single '-' or '_' between words (e.g. 'anatem' or 'my-corpus')"
        )
    package = package_name(task)
    if importlib.util.find_spec(package) is not None:
        raise ScaffoldError(f"a Python package named {package!r} is already installed; choose another task name")


def check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ScaffoldError(f"{out} exists and is not an empty folder; refusing to overwrite it")


def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath("template", name).read_text(encoding="utf-8"))


def _jsonl(rows) -> str:
    return "".join(json.dumps({"id": f"{i + 1}", **row}, ensure_ascii=False) + "\n" for i, row in enumerate(rows))


def in_scheme(tags: list[str], scheme: str) -> list[str]:
    """Untyped IOB2 tags (the starters' fixtures) written in ``scheme``."""
    out = list(tags)
    for k, tag in enumerate(tags):
        if tag == OUTSIDE:
            continue
        starts, ends = tag == "B", k + 1 == len(tags) or tags[k + 1] != "I"
        if scheme == "iob1":
            out[k] = "B" if starts and k and tags[k - 1] != OUTSIDE else "I"
        elif scheme in ("iobes", "bilou"):
            single, last = ("S", "E") if scheme == "iobes" else ("U", "L")
            out[k] = single if starts and ends else last if ends else tag
    return out


def _sample(rows: tuple[dict, ...], kit: str, reader: str, scheme: str) -> str:
    if kit == "tagging":
        rows = tuple({**row, "tags": in_scheme(row["tags"], scheme)} for row in rows)
        if reader == "conll":
            return "\n".join("".join(f"{t}\t{g}\n" for t, g in zip(row["tokens"], row["tags"], strict=True)) for row in rows)
    if reader == "tsv":
        return "id\ttext\tlabel\n" + "".join(f"{i + 1}\t{row['text']}\t{row['label']}\n" for i, row in enumerate(rows))
    return _jsonl(rows)


def plugin_files(task: str, family: str, data_folder: str, scheme: str = "iob2", reader: str | None = None) -> dict[str, str]:
    """Relative path -> content of every file of the new distribution."""
    starter = STARTERS[family]
    kit = starter.kit
    reader = reader or READERS[kit][0]
    if reader not in READERS[kit]:
        raise ScaffoldError(f"--reader {reader} does not fit the {family} family (the {kit} kit); choose {' or '.join(READERS[kit])}")
    if scheme not in SCHEMES:
        raise ScaffoldError(f"--scheme {scheme} is not a tag scheme; choose one of {', '.join(SCHEMES)}")
    package = package_name(task)
    extension = {"conll": "tsv", "jsonl": "jsonl", "tsv": "tsv"}[reader]
    template = starter.template if kit != "tagging" else starter.template.replace(_SCHEME_WORDS["iob2"], _SCHEME_WORDS[scheme])
    values = {
        "name": task,
        "family": family,
        "kit": kit,
        "package": package,
        "distribution": package.replace("_", "-"),
        "data_folder": data_folder,
        "labels": ", ".join(json.dumps(label) for label in starter.labels),
        "template": json.dumps(template),
        "reader": reader,
        "files": json.dumps("{split}." + extension),
        "reader_settings": '\nseparator = "\\t"' if reader == "conll" else "",
        "scheme": scheme,
        "prefixes": "/".join(SCHEMES[scheme]),
        "example_file": f"train.{extension}",
        "bad_line": json.dumps("a\tb\tc" if reader == "conll" else '{"unexpected": true}'),
        "class_name": "".join(part.capitalize() for part in re.split(r"[-_]", task)),
    }
    render = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"src/{package}/__init__.py": "package_init.py.tmpl",
        f"src/{package}/tasks/{task}.toml": f"task_{kit}.toml.tmpl",
        f"tests/test_{package}.py": "tests/test_plugin.py.tmpl",
    }
    files = {path: _template(name).substitute(values) for path, name in render.items()}
    samples = f"src/{package}/samples/{data_folder}"
    files[f"{samples}/train.{extension}"] = _sample(starter.train, kit, reader, scheme)
    files[f"{samples}/test.{extension}"] = _sample(starter.test, kit, reader, scheme)
    return files


def scaffold_plugin(task: str, family: str, out: Path, data_folder: str | None = None, scheme: str = "iob2", reader: str | None = None) -> list[Path]:
    """Create the plugin distribution at ``out`` (absent or empty); returns the files written.

    Files are written to a temporary folder beside ``out`` and moved into place at the end, so a
    failure leaves nothing half-written.
    """
    check_name(task)
    if family not in STARTERS:
        raise ScaffoldError(f"family {family!r} has no starter; choose one of {', '.join(STARTERS)}")
    data_folder = data_folder or task
    if not data_folder or Path(data_folder).name != data_folder or data_folder in (".", ".."):
        raise ScaffoldError(f"data folder {data_folder!r} must be a single folder name")
    out = Path(out)
    check_out_dir(out)
    files = plugin_files(task, family, data_folder, scheme, reader)
    target = out.resolve()  # "--out ." has no name of its own to stage beside
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for rel, content in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        if target.exists():  # an empty folder (checked above), perhaps the shell's working directory: fill it in place
            for entry in staging.iterdir():
                os.replace(entry, target / entry.name)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / rel for rel in files]
