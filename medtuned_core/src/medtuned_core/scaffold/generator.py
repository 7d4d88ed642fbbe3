"""Write a new task plugin distribution from the templates in ``template/`` (``string.Template`` files).

The output is a complete, installable package that passes its own tests: ``pyproject.toml`` with the
``medtuned.plugins`` entry point, ``src/<package>/plugin.py`` holding the task (one module: metadata
and the five hooks), a sample of the data format, and tests built on the core's conformance kit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import tempfile
import textwrap
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import MedTunedError
from .families import STARTERS

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


def _python_string(text: str, width: int = 100, one_line: int = 140) -> str:
    """A string literal; long text becomes a parenthesised implicit concatenation of lines of ``width``."""
    if len(text) <= one_line:
        return json.dumps(text)
    chunks = textwrap.wrap(text, width, drop_whitespace=False)
    return "(\n" + "".join(f"    {json.dumps(chunk)}\n" for chunk in chunks) + ")"


def plugin_files(task: str, family: str, data_folder: str) -> dict[str, str]:
    """Relative path -> content of every file of the new distribution."""
    starter = STARTERS[family]
    package = package_name(task)
    dependencies = ["medtuned-core"] + (["seqeval>=1.2"] if starter.style == "tagging" else [])
    values = {
        "name": task,
        "family": family,
        "package": package,
        "distribution": package.replace("_", "-"),
        "data_folder": data_folder,
        "labels": "(" + ", ".join(json.dumps(label) for label in starter.labels) + ")",
        "template": _python_string(starter.template),
        "dependencies": ", ".join(json.dumps(d) for d in dependencies),
        "class_name": "".join(part.capitalize() for part in re.split(r"[-_]", task)),
    }
    render = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"src/{package}/__init__.py": "package_init.py.tmpl",
        f"src/{package}/plugin.py": f"plugin_{starter.style}.py.tmpl",
        f"tests/test_{package}.py": "tests/test_plugin.py.tmpl",
    }
    files = {path: _template(name).substitute(values) for path, name in render.items()}
    samples = f"src/{package}/samples/{data_folder}"
    files[f"{samples}/train.jsonl"] = _jsonl(starter.train)
    files[f"{samples}/test.jsonl"] = _jsonl(starter.test)
    return files


def scaffold_plugin(task: str, family: str, out: Path, data_folder: str | None = None) -> list[Path]:
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
    files = plugin_files(task, family, data_folder)
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
