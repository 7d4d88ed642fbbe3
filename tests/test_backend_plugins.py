"""Model backends are plugins: a third-party backend registered through ``medtuned_register_backends`` (in process,
and from an installed entry point) evaluates like a built-in one; listing backends imports no model library;
broken registrations are reported, not fatal; backend options are checked against what a backend declares."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import evaluate_helpers as helpers
import pytest

from medtuned_core import hookimpl
from medtuned_core.errors import MedTunedError
from medtuned_core.evaluate import evaluate
from medtuned_core.evaluate.backends import collect
from medtuned_core.plugins import make_registry

TASKS = ["toy-tagger", "toy-yesno", "toy-echo"]


class LastWordBackend:
    """A toy backend: answers every request with the last word of its input (generation only)."""

    name = "last-word"
    capabilities = frozenset({"generate"})
    limits = {"rank": "a toy that only writes", "tag": "a toy that only writes"}

    def __init__(self, model: str, suffix: str = "") -> None:
        self.model_name, self.suffix, self.seen = model, suffix, 0

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]

    def generate(self, requests, max_new_tokens):
        self.seen += len(requests)
        return [r.row["input"].split()[-1].strip("?") + self.suffix for r in requests]


class ToyBackendPlugin:
    loaded: list[LastWordBackend] = []

    @hookimpl
    def medtuned_register_backends(self, register):
        def load(model, suffix="", **settings):
            assert {"dtype", "lookahead", "prompt_format"} <= set(settings)  # the run's settings reach every backend
            backend = LastWordBackend(model, suffix)
            self.loaded.append(backend)
            return backend

        register("last-word", load, description="answers with the input's last word", options=("suffix",))


class BrokenBackendPlugin:
    @hookimpl
    def medtuned_register_backends(self, register):
        register("Bad Name", lambda model, **_: None)
        raise RuntimeError("half registered")


def registry(*extra):
    return make_registry([helpers.toy_module(), sys.modules[helpers.__name__], *extra], autoload=False)


def test_builtin_backends_are_plugins_of_the_hook():
    found = collect(make_registry(autoload=False))
    assert {"hf", "vllm", "openai"} <= set(found.names()) and not found.problems
    assert found.get("hf").provider == "medtuned-core"
    assert found.get("openai").options and "base_url" in found.get("openai").options
    with pytest.raises(MedTunedError, match="unknown backend 'hff'.*Did you mean: hf"):
        found.get("hff")


def test_a_third_party_backend_evaluates_like_a_builtin(tmp_path):
    data = helpers.write_data(tmp_path / "data")
    reg = registry(ToyBackendPlugin())
    metrics = evaluate(
        "toy-model", TASKS, data, "test", tmp_path / "out", "score", registry=reg, progress=False, backend="last-word", backend_options={"suffix": "!"}
    )
    backend = ToyBackendPlugin.loaded[-1]
    assert backend.model_name == "toy-model" and backend.seen == 6 + 2 + 3
    rows = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert {r["prediction"] for r in rows if r["task"] == "toy-echo"} == {"sky!", "hot!", "one!"}
    assert all(r["method"] == "generate" for r in rows)
    tasks = metrics["tasks"]
    assert tasks["toy-yesno"]["method_reasons"] == {"generate+parse: backend last-word cannot rank: a toy that only writes": 2}
    assert tasks["toy-tagger"]["method_reasons"] == {"generate+parse: backend last-word cannot tag: a toy that only writes": 6}
    assert tasks["toy-echo"]["method_reasons"] == {"generate+parse: free-text answer (no tagging or choices hint)": 3}
    assert metrics["run"]["backend"] == "last-word" and metrics["run"]["backend_capabilities"] == ["generate"]


def test_backend_options_are_checked_against_what_the_backend_declares(tmp_path):
    data = helpers.write_data(tmp_path / "data")
    reg = registry(ToyBackendPlugin())
    with pytest.raises(MedTunedError, match=r"backend last-word takes no option base_url \(its options: suffix\)"):
        evaluate("m", TASKS, data, "test", tmp_path / "a", registry=reg, progress=False, backend="last-word", backend_options={"base_url": "x"})
    with pytest.raises(MedTunedError, match="unknown backend 'last-wrd'.*Did you mean: last-word"):
        evaluate("m", TASKS, data, "test", tmp_path / "b", registry=reg, progress=False, backend="last-wrd")


def test_a_broken_backend_registration_is_reported_and_the_rest_load():
    found = collect(registry(ToyBackendPlugin(), BrokenBackendPlugin()))
    assert "last-word" in found.names() and "hf" in found.names()
    assert any("backend name 'Bad Name' must be lower-case" in p for p in found.problems)
    assert any("medtuned_register_backends failed: RuntimeError: half registered" in p for p in found.problems)


ENTRY_MODULE = """
from medtuned_core import hookimpl

@hookimpl
def medtuned_register_backends(register):
    def load(model, **settings):
        raise RuntimeError("never loaded while listing")
    register("remote-toy", load, description="a backend from an installed distribution", options=("endpoint",))
"""
HEAVY = {"torch", "transformers", "openai", "vllm"}
PROBE = """
import sys
from medtuned_core.cli import cli
for args in (["plugins", "--json"], ["evaluate", "--help"]):
    try:
        cli.main(args, standalone_mode=False)
    except SystemExit:
        pass
print("MODULES", " ".join(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def test_an_installed_backend_plugin_is_listed_without_importing_model_libraries(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "medtuned_remote_toy.py").write_text(ENTRY_MODULE)
    info = site / "medtuned_remote_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: medtuned-remote-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[medtuned.plugins]\nremote-toy = medtuned_remote_toy\n")
    env = {**os.environ, "PYTHONPATH": str(site), "MEDTUNED_PLUGINS": "medtuned-remote-toy"}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    listing, usage = out.stdout.split("Usage:", 1)
    listed = json.loads(listing)
    assert [(p["distribution"], p["backends"], p["status"]) for p in listed] == [("medtuned-remote-toy", ["remote-toy"], "ok")]
    assert "remote-toy" in " ".join(usage.split())  # --backend's help names it
    loaded = set(out.stderr.split("MODULES", 1)[1].split())
    assert "medtuned_remote_toy" in loaded and not loaded & HEAVY, sorted(loaded & HEAVY)
    everything = subprocess.run([sys.executable, "-m", "medtuned_core.cli", "plugins", "--all", "--json"], env=env, capture_output=True, text=True)
    rows = {p["distribution"]: p for p in json.loads(everything.stdout)}
    assert rows["medtuned-core"]["backends"] == ["hf", "openai", "vllm"]


def test_evaluate_cli_passes_backend_flags_as_options(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from medtuned_core import cli as cli_module

    data = helpers.write_data(tmp_path / "data")
    reg = registry(ToyBackendPlugin())
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    args = ["evaluate", "--model", "m", "--tasks", "toy-echo", "--data-dir", str(data), "--out", str(tmp_path / "o"), "--backend", "last-word"]
    result = CliRunner().invoke(cli_module.cli, [*args, "--backend-option", "suffix=?"])
    assert result.exit_code == 0, result.output
    assert ToyBackendPlugin.loaded[-1].suffix == "?"
    refused = CliRunner().invoke(cli_module.cli, [*args, "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "p")])
    assert refused.exit_code != 0 and "backend last-word takes no option base_url" in refused.output
    assert "Traceback" not in refused.output
