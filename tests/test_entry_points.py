"""Real installed entry points: a fixture distribution installed into a temporary folder, broken
distributions beside it, and the CLI run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "toy_plugin"


def _fake_distribution(site: Path, name: str, module_source: str, entry: str) -> None:
    """A minimal installed distribution (dist-info + module), as pip would leave it."""
    module = name.replace("-", "_")
    (site / f"{module}.py").write_text(module_source)
    info = site / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[medtuned.plugins]\n{entry} = {module}\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(FIXTURE)],
        check=True,
    )
    _fake_distribution(site, "medtuned-broken-import", "raise ImportError('needs a missing library')\n", "broken")
    _fake_distribution(
        site,
        "medtuned-bad-hook",
        "from medtuned_core import hookimpl\n@hookimpl\ndef medtuned_not_a_hook():\n    return []\n",
        "badhook",
    )
    return site


def medtuned(site: Path, *args: str, plugins: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("MEDTUNED_PLUGINS", None)
    if plugins is not None:
        env["MEDTUNED_PLUGINS"] = plugins
    return subprocess.run([sys.executable, "-m", "medtuned_core.cli", *args], env=env, capture_output=True, text=True)


def test_installed_plugin_is_listed_and_broken_ones_reported(site):
    out = medtuned(site, "list-tasks", "--json")
    assert out.returncode == 0, out.stderr
    toy = [t for t in json.loads(out.stdout) if t["name"] == "toy-yesno"]
    assert toy and toy[0]["package"] == "medtuned-toy" and toy[0]["version"] == "0.0.1"
    assert "failed to load" not in out.stderr  # --json keeps stderr quiet only in table mode
    statuses = {p["distribution"]: p for p in json.loads(medtuned(site, "plugins", "--json").stdout)}
    assert statuses["medtuned-toy"]["status"] == "ok"
    assert statuses["medtuned-broken-import"]["status"] == "error"
    assert "import failed: ImportError: needs a missing library" in statuses["medtuned-broken-import"]["error"]
    assert "invalid hooks" in statuses["medtuned-bad-hook"]["error"]
    assert "medtuned_not_a_hook" in statuses["medtuned-bad-hook"]["error"]


def test_env_var_restricts_and_disables_autoloading(site):
    only_toy = json.loads(medtuned(site, "plugins", "--json", plugins="medtuned-toy").stdout)
    assert [p["distribution"] for p in only_toy] == ["medtuned-toy"]
    assert json.loads(medtuned(site, "list-tasks", "--json", plugins="").stdout) == []


HEAVY = {"torch", "transformers", "deepspeed", "datasets", "accelerate", "peft"}
PROBE = """
import sys
from medtuned_core.cli import cli
try:
    cli.main(["list-tasks", "--json"], standalone_mode=False)
finally:
    print("MODULES", " ".join(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def test_list_tasks_imports_no_torch_or_transformers(site):
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stderr.split("MODULES", 1)[1].split())
    assert "medtuned_toy" in loaded  # the installed plugins were really imported
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
    timed = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert not {m.split(".")[0] for m in timed} & HEAVY
