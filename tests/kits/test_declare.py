"""Declared tasks: TOML files and the Python call, their errors (file, line, key), the plugin they make, a
Python hook overriding one hook of a declared task, and folders of task files named by MEDTUNED_TASK_PATH
or ``medtuned --task-path``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medtuned_core import Parsed, hookimpl
from medtuned_core.kits import DeclarationError, Kit, get_kit
from medtuned_core.kits.declare import ENV_TASK_PATH, DeclaredTasks, declare, load_task_file, plugin_from_folder, spec_of
from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows

TASK = """\
name = "tiny-ner"
kit = "tagging"
family = "ner"
description = "A tiny typed corpus."
data_folder = "Tiny"
license = "CC0-1.0"
citation = "Nobody 2025."
templates = ["Tag each token: `token : label`."]

[reader]
format = "conll"
files = ["{split}.conll"]
separator = "whitespace"
columns = 3
tag_column = 2
comment = "#"

[tagging]
scheme = "iobes"
types = ["Organ", "Cell"]
"""
CONLL = "# a comment line\n-DOCSTART- -X- O\n\nLeft JJ B-Organ\nkidney NN E-Organ\ncells NNS S-Cell\n. . O\n\nNone NN O\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def task_dir(tmp_path) -> Path:
    write(tmp_path / "tasks" / "tiny.toml", TASK)
    for split in ("train", "validation", "test"):
        write(tmp_path / "data" / "Tiny" / f"{split}.conll", CONLL)
    return tmp_path


def test_a_task_file_becomes_a_working_task(task_dir):
    registry = make_registry([plugin_from_folder(task_dir / "tasks")], autoload=False)
    task = registry.get("tiny-ner")
    assert task.labels == ("O", "B-Organ", "I-Organ", "E-Organ", "S-Organ", "B-Cell", "I-Cell", "E-Cell", "S-Cell")
    assert (task.metric, task.splits, task.data_folder) == ("entity_f1", ("train", "validation", "test"), "Tiny")
    rows = list(render_split(registry, task, task_dir / "data", "test"))
    assert [r["output"] for r in rows] == ["Left : B-Organ\nkidney : E-Organ\ncells : S-Cell\n. : O", "None : O"]
    result = score_rows(registry, [{"task": "tiny-ner", "input": r["input"], "reference": r["output"], "prediction": r["output"]} for r in rows])["tiny-ner"]
    assert result["score"] == 1.0 and result["strict"]["mode"] == "seqeval strict IOBES" and set(result["per_type"]) == {"Organ", "Cell"}
    assert registry.score_units(task, [Parsed(["O"])], [Parsed(["O"])], [{"id": "x"}]).unit == "sentence"
    assert spec_of(registry, "tiny-ner").origin == str(task_dir / "tasks" / "tiny.toml")


def test_the_python_call_declares_the_same_task(task_dir):
    from_file = load_task_file(task_dir / "tasks" / "tiny.toml")
    in_python = declare(
        kit="tagging",
        name="tiny-ner",
        family="ner",
        description="A tiny typed corpus.",
        data_folder="Tiny",
        license="CC0-1.0",
        citation="Nobody 2025.",
        templates=["Tag each token: `token : label`."],
        reader="conll",
        files=["{split}.conll"],
        separator="whitespace",
        columns=3,
        tag_column=2,
        comment="#",
        scheme="iobes",
        types=["Organ", "Cell"],
    )
    assert in_python.info == from_file.info and in_python.config == from_file.config
    assert isinstance(get_kit("tagging"), Kit)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('scheme = "iobes"', 'scheme = "iobx"'), r"tiny\.toml:19: key 'scheme': .*task 'tiny-ner': unknown scheme 'iobx'"),
        (lambda t: t.replace('kit = "tagging"', 'kit = "taging"'), r"tiny\.toml:2: key 'kit': .*unknown kit 'taging'.*did you mean tagging"),
        (lambda t: t.replace('family = "ner"', 'famly = "ner"'), r"tiny\.toml:3: key 'famly': .*did you mean 'family'"),
        (lambda t: t.replace("tag_column = 2", "tag_column = 7"), r"tiny\.toml:15: key 'tag_column': .*7 is outside the 3 columns"),
        (lambda t: t.replace('format = "conll"', 'format = "brat"'), r"tiny\.toml:11: key 'format': .*the tagging kit has no reader 'brat'"),
        (lambda t: t.replace('comment = "#"', 'coment = "#"'), r"tiny\.toml:16: key 'coment': .*did you mean 'comment'"),
        (lambda t: t.replace('templates = ["Tag each token: `token : label`."]', "templates = []"), r"tiny\.toml: task 'tiny-ner': templates must be"),
        (lambda t: t.replace('["{split}.conll"]', '["train.conll"]'), r"tiny\.toml:12: key 'files': .*needs \"\{split\}\""),
        (lambda t: t + 'labels = ["O", "B-Organ"]\n', r"key 'labels'"),
        (lambda t: t.replace('description = "A tiny typed corpus."', "description = [1]"), r"tiny\.toml:4: key 'description': .*must be a string"),
        (lambda t: t.replace("[reader]\n", "[reader\n"), r"tiny\.toml:10: invalid TOML"),
    ],
)
def test_errors_name_the_file_line_and_key(task_dir, edit, message):
    path = write(task_dir / "tasks" / "tiny.toml", edit(TASK))
    with pytest.raises(DeclarationError if "invalid TOML" not in message else Exception, match=message) as err:
        load_task_file(path)
    assert "\n" not in str(err.value)


def test_a_task_declared_twice_is_refused(task_dir):
    write(task_dir / "tasks" / "again.toml", TASK)
    with pytest.raises(DeclarationError, match="declared twice"):
        plugin_from_folder(task_dir / "tasks")


class StrictParser:
    """A Python plugin that overrides ONE hook of a declared task: its parser."""

    @hookimpl(tryfirst=True)
    def medtuned_parse_output(self, task, text, input, reference):
        if task.name != "tiny-ner":
            return None
        return Parsed(["O"] * len((input or "").split()), ok=text.strip() == (reference or "").strip(), diagnostics={"strict": True})


def test_a_python_hook_overrides_one_hook_of_a_declared_task(task_dir):
    declared = plugin_from_folder(task_dir / "tasks")
    registry = make_registry([declared, StrictParser()], autoload=False)
    assert all(p.ok for p in registry.plugins), [p.error for p in registry.plugins]
    task = registry.get("tiny-ner")
    parsed = registry.parse(task, "Left : B-Organ", input="Left kidney", reference="Left : B-Organ\nkidney : E-Organ")
    assert parsed.diagnostics == {"strict": True} and not parsed.ok
    # The other hooks are still the declaration's.
    rows = list(render_split(registry, task, task_dir / "data", "train"))
    assert rows[0]["output"].startswith("Left : B-Organ") and rows[0]["tagging"]["labels"][0] == "O"


class OwnLoader(DeclaredTasks):
    """The escape hatch by subclassing: a declared task with a loader of its own (as the AnatEM example does)."""

    @hookimpl
    def medtuned_load_corpus(self, task, data_dir, split, options):
        if task.name not in self.specs:
            return None
        return [{"id": "only", "tokens": ["Heart", "cells"], "tags": ["S-Organ", "S-Cell"]}]


def test_a_declared_plugin_with_a_loader_of_its_own(task_dir):
    registry = make_registry([OwnLoader([load_task_file(task_dir / "tasks" / "tiny.toml")])], autoload=False)
    (row,) = render_split(registry, registry.get("tiny-ner"), task_dir / "data", "test")
    assert row["output"] == "Heart : S-Organ\ncells : S-Cell"


def test_task_path_folders_load_beside_installed_plugins(task_dir, monkeypatch):
    monkeypatch.setenv("MEDTUNED_PLUGINS", "")
    monkeypatch.setenv(ENV_TASK_PATH, f"{task_dir / 'tasks'}{__import__('os').pathsep}{task_dir / 'missing'}")
    registry = make_registry()
    assert registry.get("tiny-ner").package == f"task-path:{task_dir / 'tasks'}"
    broken = [p for p in registry.plugins if not p.ok]
    assert len(broken) == 1 and "task folder not found" in broken[0].error and str(task_dir / "missing") in broken[0].distribution
    assert "tiny-ner" not in make_registry(task_paths=[]).tasks  # an explicit empty list overrides the variable


def test_task_path_through_the_cli(task_dir, monkeypatch):
    from medtuned_core.testing import plugin_cli

    run = plugin_cli(monkeypatch)  # no installed plugin
    monkeypatch.setenv(ENV_TASK_PATH, "")  # --task-path writes the variable in-process: this restores it afterwards
    listed = json.loads(run("--task-path", task_dir / "tasks", "list-tasks", "--json").output)
    assert [t["name"] for t in listed] == ["tiny-ner"]
    shown = json.loads(run("--task-path", task_dir / "tasks", "plugins", "--json").output)
    assert shown[0]["distribution"] == f"task-path:{task_dir / 'tasks'}" and shown[0]["tasks"] == ["tiny-ner"]
    out = task_dir / "rows.jsonl"
    run("--task-path", task_dir / "tasks", "render", "tiny-ner", "--data-dir", task_dir / "data", "--split", "test", "--out", out)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    write(task_dir / "tasks" / "tiny.toml", TASK.replace('scheme = "iobes"', "scheme = 3"))
    failed = run("--task-path", task_dir / "tasks", "plugins", ok=True)
    assert "tiny.toml:19: key 'scheme'" in " ".join(failed.output.split())


def read_tiny(folder, split, options):
    """A reader function for the python reader (a format no kit reader reads)."""
    return [{"id": f"{split}-1", "tokens": ["Heart", "cells"], "tags": ["S-Organ", "S-Cell"]}, {"tokens": ["x"], "tags": ["O"]}]


def test_the_python_reader_calls_a_function_and_checks_what_it_gives(task_dir):
    text = TASK.replace(
        'format = "conll"\nfiles = ["{split}.conll"]\nseparator = "whitespace"\ncolumns = 3\ntag_column = 2\ncomment = "#"',
        f'format = "python"\nfunction = "{__name__}:read_tiny"',
    )
    registry = make_registry([DeclaredTasks([load_task_file(write(task_dir / "tasks" / "tiny.toml", text))])], autoload=False)
    examples = list(registry.load(registry.get("tiny-ner"), task_dir / "data", "test"))
    assert [(e["id"], e["tags"]) for e in examples] == [("test-1", ["S-Organ", "S-Cell"]), ("1", ["O"])]
    with pytest.raises(DeclarationError, match="key 'function'"):
        load_task_file(write(task_dir / "tasks" / "tiny.toml", text.replace(f"{__name__}:read_tiny", "no-colon")))
    with pytest.raises(DeclarationError, match="key 'function'"):
        load_task_file(write(task_dir / "tasks" / "tiny.toml", TASK.replace('comment = "#"', 'function = "a:b"')))
