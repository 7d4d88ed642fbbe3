"""Publishable distributions: licence, citation, typing marker and version ranges; and (slow) every wheel and sdist
built, installed NON-editable into a fresh venv, and the CLI smoke-tested there without torch."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TASK_PACKAGES = ["medtuned_tasks_ner", "medtuned_tasks_re", "medtuned_tasks_nli", "medtuned_tasks_cls", "medtuned_tasks_qa"]
PLUGINS = [*TASK_PACKAGES, "examples/medtuned_anatem"]
DISTRIBUTIONS = ["medtuned_core", *PLUGINS, "."]  # "." is the `medtuned` meta-distribution
CORE_RANGE = ">=0.1,<0.2"
HEAVY = {"torch", "transformers", "accelerate", "deepspeed", "peft"}


def pyproject(folder: str) -> dict:
    return tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_distribution_has_the_licence_and_every_import_package_is_typed():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.lstrip("\n").startswith(" " * 33 + "Apache License\n") and "END OF TERMS AND CONDITIONS" in licence
    for folder in DISTRIBUTIONS:
        assert (ROOT / folder / "LICENSE").read_text(encoding="utf-8") == licence, folder
        assert pyproject(folder)["project"]["license"] == "Apache-2.0", folder
    for folder in ["medtuned_core", *PLUGINS]:
        for package in pyproject(folder)["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]:
            assert (ROOT / folder / package / "py.typed").is_file(), f"{folder}/{package}"


def test_plugins_name_a_core_range_and_the_meta_package_installs_from_an_index():
    for folder in PLUGINS:
        deps = pyproject(folder)["project"]["dependencies"]
        assert [d for d in deps if re.fullmatch(rf"medtuned-core(\[[a-z,]+\])?{re.escape(CORE_RANGE)}", d)], folder
        assert not HEAVY & {d.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for d in deps}, folder
    meta = pyproject(".")["project"]["dependencies"]
    assert not [d for d in meta if "@" in d]  # no direct references: resolvable on an index
    assert all(d.endswith(CORE_RANGE) for d in meta) and len(meta) == 1 + len(TASK_PACKAGES)


def test_citation_file_names_the_project_and_the_study():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "Apache-2.0"
    assert cff["version"] == pyproject("medtuned_core")["project"]["version"]
    (study,) = cff["references"]
    assert study["title"] == "Exploring the Effectiveness of Instruction Tuning in Biomedical Language Processing"
    assert [a["family-names"] for a in study["authors"]] == ["Rohanian", "Nouriborji", "Clifton"]
    assert (study["journal"], study["volume"], study["start"], study["year"]) == ("Artificial Intelligence in Medicine", 158, "103007", 2024)
    assert study["identifiers"][0]["value"] == "arXiv:2401.00579"


# -- slow: build, install into a fresh venv, smoke-test --------------------------------------------------------------

SMOKE_DATA = r"""
import json, sys
from pathlib import Path
from medtuned_core.demo.runner import sample_data_root
from medtuned_core.plugins import get_registry
print(sample_data_root(get_registry(), Path(sys.argv[1])))
"""
AS_PREDICTIONS = r"""
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
with open(sys.argv[2], "w", encoding="utf-8") as fh:
    for r in rows:
        fh.write(json.dumps({"task": r["task"], "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": r["output"]}) + "\n")
"""


def _built(dist: Path) -> dict[str, tuple[Path, Path]]:
    """Build every sdist, then its wheel from the sdist (so the sdist is proven complete); name -> (sdist, wheel)."""
    for folder in DISTRIBUTIONS:
        done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT / folder)], capture_output=True, text=True)
        assert done.returncode == 0, f"{folder}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    wheels = {w.name.split("-")[0]: w for w in dist.glob("*.whl")}
    sdists = {s.name.split("-")[0]: s for s in dist.glob("*.tar.gz")}
    assert set(wheels) == set(sdists) and len(wheels) == len(DISTRIBUTIONS)
    return {name: (sdists[name], wheels[name]) for name in wheels}


def _check_archives(name: str, sdist: Path, wheel: Path) -> None:
    with tarfile.open(sdist) as tar:
        assert f"{sdist.name[: -len('.tar.gz')]}/LICENSE" in tar.getnames(), sdist.name
    with zipfile.ZipFile(wheel) as whl:
        names = whl.namelist()
        metadata = whl.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), wheel.name
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if "@" in r], wheel.name
    if name != "medtuned":
        assert any(n.endswith("/py.typed") for n in names), wheel.name
    if name.startswith(("medtuned_tasks", "medtuned_anatem")):
        assert [r for r in requires if re.fullmatch(r"medtuned-core(\[[a-z,]+\])?<0\.2,>=0\.1", r)], wheel.name
        runtime = {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip() for r in requires if "extra ==" not in r}
        assert not runtime & HEAVY, wheel.name


@pytest.mark.slow
def test_wheels_install_into_a_fresh_venv_and_the_cli_works_without_torch(tmp_path):
    pytest.importorskip("build", reason="the `build` package (medtuned-core[test]) builds the distributions")
    built = _built(tmp_path / "dist")
    for name, (sdist, wheel) in built.items():
        _check_archives(name, sdist, wheel)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # This environment's pip installs into the new venv (--python) and keeps using its cache.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    wheel = {name: str(w) for name, (_, w) in built.items()}
    plugins = [wheel[n] for n in wheel if n.startswith(("medtuned_tasks", "medtuned_anatem"))]
    report = tmp_path / "report.json"
    subprocess.run([*pip, "install", "-q", "--dry-run", "--ignore-installed", "--report", str(report), wheel["medtuned_core"], *plugins], check=True)
    planned = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"medtuned-core", "medtuned-tasks-ner", "medtuned-tasks-qa", "medtuned-anatem"} <= planned
    assert not planned & HEAVY, sorted(planned & HEAVY)  # the task packages pull no torch
    subprocess.run([*pip, "install", "-q", f"{wheel['medtuned_core']}[build]", *plugins], check=True)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MEDTUNED_PLUGINS", "MEDTUNED_DATA_DIR")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", HF_DATASETS_CACHE=str(tmp_path / "hf"), HF_HUB_OFFLINE="1")

    def medtuned(*args) -> str:
        done = subprocess.run([str(venv / "bin" / "medtuned"), *map(str, args)], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, f"medtuned {' '.join(map(str, args))}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def python_run(script: str, *args) -> str:
        return subprocess.run([str(python), "-c", script, *map(str, args)], capture_output=True, text=True, env=env, check=True).stdout

    installed = subprocess.run([*pip, "list", "--format=json"], capture_output=True, text=True, check=True)
    names = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert "medtuned-tasks-ner" in names and not names & HEAVY
    location = python_run("import medtuned_core, sys; print(medtuned_core.__file__)")
    assert str(venv) in location and str(ROOT) not in location  # the wheel, not the checkout

    tasks = {t["name"] for t in json.loads(medtuned("list-tasks", "--json"))}
    assert {"ncbi-disease", "gad", "mednli", "hoc", "medqa", "pubmedqa", "anatem"} <= tasks
    assert json.loads(medtuned("describe", "ncbi-disease", "--json"))["family"] == "ner"
    samples = Path(python_run(SMOKE_DATA, tmp_path / "samples").strip())
    medtuned("render", "ncbi-disease", "--data-dir", samples, "--split", "test", "--out", tmp_path / "rows.jsonl", "--limit", "5")
    python_run(AS_PREDICTIONS, tmp_path / "rows.jsonl", tmp_path / "preds.jsonl")
    assert json.loads(medtuned("score", tmp_path / "preds.jsonl", "--json"))["ncbi-disease"]["score"] == 1.0
    medtuned("build", "--preset", "paper", "--data-dir", samples, "--out", tmp_path / "mix", "--allow-missing", "-q")
    assert json.loads((tmp_path / "mix" / "manifest.json").read_text())["outputs"]["train.jsonl"]["rows"] > 0
    assert list((tmp_path / "mix" / "dataset" / "data").glob("train-*.parquet")) and (tmp_path / "mix" / "dataset" / "README.md").is_file()

    medtuned("new-task", "my-corpus", "--family", "ner", "--out", tmp_path / "plugin")
    subprocess.run([*pip, "install", "-q", f"{tmp_path / 'plugin'}[test]"], check=True)
    assert "my-corpus" in {t["name"] for t in json.loads(medtuned("list-tasks", "--json"))}
    generated = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "plugin")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path / "plugin",
    )
    assert generated.returncode == 0, generated.stdout[-3000:]
