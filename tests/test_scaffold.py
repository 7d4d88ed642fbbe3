"""`medtuned new-task`: the scaffolded plugin installs, passes its own tests and is listed by the CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from medtuned_core.cli import cli
from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.scaffold import ScaffoldError, package_name, scaffold_plugin
from medtuned_core.scaffold.families import STARTERS
from medtuned_core.scoring import score_rows


def _pip_install_target(target: Path, *projects: Path) -> None:
    """``pip install --target``: offline with the hatchling already installed, else pip fetches it from PyPI."""
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check"]
    subprocess.run([*pip, *isolation, "--target", str(target), *map(str, projects)], check=True)


def _env(site: Path, plugins: str | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    env.pop("MEDTUNED_PLUGINS", None)
    if plugins is not None:
        env["MEDTUNED_PLUGINS"] = plugins
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """A tagging (IOBES, column files) and a classification plugin, scaffolded and installed (wheel built) into one target folder."""
    root = tmp_path_factory.mktemp("scaffold")
    projects = {"sc-tagging": root / "tagging", "sc-pairs": root / "pairs"}
    scaffold_plugin("sc-tagging", "ner", projects["sc-tagging"], scheme="iobes", reader="conll")
    scaffold_plugin("sc-pairs", "nli", projects["sc-pairs"], data_folder="SC-Pairs")
    site = root / "site"
    _pip_install_target(site, *projects.values())
    return site, projects


@pytest.mark.parametrize("name", ["sc-tagging", "sc-pairs"])
def test_generated_package_passes_its_own_tests(installed, name):
    site, projects = installed
    # Run from the project folder like its author would; the import comes from the installed wheel,
    # so this also proves the sample data ships inside the package.
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=projects[name], env=_env(site, None), capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Conformance" in (projects[name] / "tests" / f"test_medtuned_{name.replace('-', '_')}.py").read_text()
    assert re.search(r"^12 passed in ", out.stdout, re.M), out.stdout[-2000:]  # 9 conformance checks + 3 plugin tests, none skipped


def test_installed_scaffold_is_listed_by_the_cli(installed):
    site, _ = installed
    out = subprocess.run(
        [sys.executable, "-m", "medtuned_core.cli", "list-tasks", "--json"], env=_env(site, "sc-tagging,medtuned-sc-pairs"), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    listed = {t["name"]: t for t in json.loads(out.stdout)}
    assert set(listed) == {"sc-tagging", "sc-pairs"}
    assert listed["sc-tagging"]["package"] == "medtuned-sc-tagging" and listed["sc-tagging"]["family"] == "ner"
    assert listed["sc-pairs"]["labels"] == list(STARTERS["nli"].labels) and listed["sc-pairs"]["data_folder"] == "SC-Pairs"
    assert all(t["has_sample_data"] for t in listed.values())


def _import_generated(project: Path, package: str):
    spec = importlib.util.spec_from_file_location(package, project / "src" / package / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plugin


@pytest.mark.parametrize(
    ("family", "scheme", "reader"),
    [*((f, "iob2", None) for f in sorted(STARTERS)), *(("ner", s, r) for s in ("iob1", "iobes", "bilou") for r in ("conll", "jsonl")), ("cls", "iob2", "tsv")],
)
def test_every_family_renders_and_scores_its_sample(tmp_path, family, scheme, reader):
    name = f"fam-{family}-{scheme}-{reader or 'default'}"
    project = tmp_path / name
    files = scaffold_plugin(name, family, project, scheme=scheme, reader=reader)
    declaration = project / "src" / package_name(name) / "tasks" / f"{name}.toml"
    assert declaration.is_file() and len(declaration.read_text(encoding="utf-8").splitlines()) <= 40
    assert not [p for p in files if p.suffix == ".py" and "src" in p.parts and p.name != "__init__.py"], "the declarative form has no task code"
    unfilled = [p for p in files if re.search(r"\$\{?[a-z_]", p.read_text(encoding="utf-8"))]
    assert not unfilled, f"a template placeholder was left in {unfilled}"
    plugin = _import_generated(project, package_name(name))
    registry = make_registry([plugin], autoload=False)
    assert all(p.ok for p in registry.plugins), [p.error for p in registry.plugins]
    task = registry.get(name)
    rows = list(render_split(registry, task, task.sample_data, "train"))
    assert len(rows) == len(STARTERS[family].train)
    hint = "tagging" if STARTERS[family].kit == "tagging" else "choices"
    assert all(hint in r for r in rows)
    perfect = score_rows(registry, [{"task": name, "input": r["input"], "reference": r["output"], "prediction": r["output"]} for r in rows])
    assert perfect[name]["score"] == 1.0 and perfect[name]["unparsed"] == 0
    junk = score_rows(registry, [{"task": name, "input": r["input"], "reference": r["output"], "prediction": "I cannot tell from this."} for r in rows])
    assert junk[name]["score"] < 1.0 and junk[name]["unparsed"] == len(rows)


@pytest.mark.parametrize("bad", ["Anatem", "9lives", "my corpus", "my--corpus", "a.b", "-x", "x-", ""])
def test_bad_names_are_refused(tmp_path, bad):
    with pytest.raises(ScaffoldError, match="task name"):
        scaffold_plugin(bad, "ner", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refuses_a_non_empty_folder_and_accepts_an_empty_one(tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["new-task", "refused-task", "--family", "cls", "--out", str(occupied)])
    assert result.exit_code != 0 and "refusing to overwrite" in result.output
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a staging folder was left behind"

    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["new-task", "accepted-task", "--family", "cls", "--out", str(empty)])
    assert result.exit_code == 0, result.output
    assert (empty / "pyproject.toml").is_file() and (empty / "src" / "medtuned_accepted_task" / "tasks" / "accepted-task.toml").is_file()
    assert '"accepted-task" = "medtuned_accepted_task:plugin"' in (empty / "pyproject.toml").read_text()


def test_scheme_and_reader_options_are_checked(tmp_path):
    with pytest.raises(ScaffoldError, match="--reader tsv does not fit the ner family"):
        scaffold_plugin("bad-reader", "ner", tmp_path / "a", reader="tsv")
    result = CliRunner().invoke(cli, ["new-task", "bad-scheme", "--family", "cls", "--scheme", "iobes", "--out", str(tmp_path / "b")])
    assert result.exit_code != 0 and "--scheme is for tagging tasks" in result.output
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_refuses_a_name_that_shadows_an_installed_package(tmp_path):
    with pytest.raises(ScaffoldError, match="medtuned_core"):
        scaffold_plugin("core", "qa", tmp_path / "out")


@pytest.mark.parametrize("folder", ["a/b", "..", "."])
def test_data_folder_must_be_one_folder_name(tmp_path, folder):
    with pytest.raises(ScaffoldError, match="single folder name"):
        scaffold_plugin("folder-task", "ner", tmp_path / "out", data_folder=folder)
