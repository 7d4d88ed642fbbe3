"""Hub cards: the build's dataset card and the export's model card load with huggingface_hub and carry the metadata
(licences, access, recipe, model-index from `medtuned evaluate`); `medtuned card` updates them; pushing is opt-in."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from build_helpers import mini_registry, write_corpora, write_spec
from click.testing import CliRunner

from medtuned_core import cards
from medtuned_core import cli as cli_module
from medtuned_core.build import build_mix, load_spec

huggingface_hub = pytest.importorskip("huggingface_hub")
from huggingface_hub import DatasetCard, ModelCard  # noqa: E402

MIX = """
name = "card-mix"
description = "NER plus a credentialed set"
seed = 3
entries = [{ task = "mini-ner" }, { task = "mini-ner", split = "validation", target = "validation" }]
"""


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records what a push would send (the tests never touch the network)."""

    calls: list[tuple] = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, repo_type=None, private=None, exist_ok=False):
        FakeHub.calls.append(("create_repo", repo_id, repo_type, private))

    def upload_folder(self, folder_path, repo_id, repo_type=None, commit_message=None):
        FakeHub.calls.append(("upload_folder", Path(folder_path).name, sorted(p.name for p in Path(folder_path).iterdir()), repo_id, repo_type))
        return type("Commit", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/0"})()


@pytest.fixture
def fake_hub(monkeypatch):
    FakeHub.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    return FakeHub


def card_cli(*args):
    return CliRunner().invoke(cli_module.cli, ["card", *map(str, args)])


def build(tmp_path: Path, mix: str, name: str) -> Path:
    data = write_corpora(tmp_path / "data")
    vault = data / "Vault"
    vault.mkdir(exist_ok=True)
    shutil.copy(data / "MiniNER" / "train.tsv", vault / "train.tsv")
    build_mix(load_spec(write_spec(tmp_path / f"{name}.toml", mix)), data, tmp_path / name, registry=mini_registry())
    return tmp_path / name


def test_the_dataset_card_loads_and_carries_licences_access_and_the_data_files(tmp_path, fake_hub):
    out = build(tmp_path, MIX.replace("entries = [", 'entries = [{ task = "mini-vault" }, '), "with-vault")
    card = DatasetCard.load(out / "dataset" / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "cc0-1.0" and meta["pretty_name"] == "MedTuned instruction mix: card-mix"
    assert meta["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}, {"split": "validation", "path": "data/validation-*"}]}
    ]
    block = meta["medtuned"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert block["format"] == "medtuned-build/1" and block["seed"] == 3 and block["outputs"] == manifest["outputs"]
    by_task = {r["task"]: r for r in block["tasks"]}
    assert by_task["mini-ner"] == {
        "task": "mini-ner",
        "family": "ner",
        "rows": {"train": 40, "validation": 10},
        "license": "CC0-1.0",
        "hub_license": "cc0-1.0",
        "access": "public",
        "package": by_task["mini-ner"]["package"],
    }
    assert by_task["mini-vault"]["access"] == "credentialed" and by_task["mini-vault"]["rows"] == {"train": 40}
    assert "Contains rows from credentialed corpora (mini-vault)" in card.text and "| mini-vault | nli | 40 | 0 | CC0-1.0 | credentialed |" in card.text
    assert str(tmp_path) not in (out / "dataset" / "README.md").read_text()  # no paths of this machine

    refused = card_cli(out, "--push-to-hub", "me/mix")
    assert refused.exit_code != 0 and "credentialed corpora (mini-vault)" in refused.output and fake_hub.calls == []


def test_a_public_build_is_pushed_only_when_asked(tmp_path, fake_hub):
    out = build(tmp_path, MIX, "public")
    assert card_cli(out).exit_code == 0 and fake_hub.calls == []  # no push without --push-to-hub
    pushed = card_cli(out, "--push-to-hub", "me/mix")
    assert pushed.exit_code == 0, pushed.output
    assert fake_hub.calls == [("create_repo", "me/mix", "dataset", True), ("upload_folder", "dataset", ["README.md", "data"], "me/mix", "dataset")]
    assert card_cli(out, "--license", "mit").exit_code != 0  # model options do not apply to a build


def test_merging_evaluations_replaces_the_same_run_and_keeps_others():
    first = {"split": "test", "mode": "score", "seed": 0, "limit": None, "tasks": {"a": {"score": 0.1}, "b": {"score": 0.2}}}
    again = {"split": "test", "mode": "score", "seed": 0, "limit": None, "tasks": {"a": {"score": 0.5}}}
    sample = {**again, "limit": 10}
    merged = cards.merge_evaluations(cards.merge_evaluations([first], again), sample)
    assert merged == [{**first, "tasks": {"a": {"score": 0.5}, "b": {"score": 0.2}}}, sample]
    assert cards.hub_license("GPL-3.0 (sb895/Hallmarks-of-Cancer)") == "gpl-3.0" and cards.hub_license("MIT") == "mit"
    assert cards.hub_license("Apache-2.0 (repository); restricted to research") is None and cards.hub_license("") is None


def test_the_model_card_of_an_export_and_its_evaluation_results(tmp_path, fake_hub, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import evaluate_helpers as helpers

    from medtuned_core.evaluate import evaluate
    from medtuned_core.testing_models import build_tiny_model, write_build_output
    from medtuned_core.train import train

    base = build_tiny_model(tmp_path / "base")
    (base / "README.md").write_text("---\nlicense: mit\nbase_model: someone/tiny-llama\n---\n\n# A tiny base\n")
    data = write_build_output(tmp_path / "build", n_train=8)
    export = train({"recipe": "quick", "threads": 1, "max_steps": 2, "model": str(base), "data": str(data), "out": str(tmp_path / "my-run")})

    card = ModelCard.load(export / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "mit" and meta["base_model"] == "someone/tiny-llama"  # inherited from the base model's card
    assert meta["model_name"] == "my-run" and meta["library_name"] == "transformers" and "medtuned" in meta["tags"]
    assert "model-index" not in meta and card.data.eval_results is None
    block = meta["medtuned"]
    assert block["format"] == "medtuned-model/1" and block["recipe"] == "quick" and block["settings"]["max_steps"] == 2
    assert {r["task"]: (r["rows"], r["license"]) for r in block["training_data"]["tasks"]} == {
        "toy_answer": ({"train": 2}, "CC0-1.0 (invented test data)"),
        "toy_tagging": ({"train": 3}, "CC0-1.0 (invented test data)"),
        "toy_yesno": ({"train": 3}, "CC0-1.0 (invented test data)"),
    }
    assert block["training_results"]["global_step"] == 2 and "transformers" in block["software"]
    assert "## Evaluation" in card.text and "No evaluation recorded yet" in card.text
    assert str(tmp_path) not in (export / "README.md").read_text()
    assert (export / "medtuned_build_manifest.json").read_bytes() == (data / "manifest.json").read_bytes()

    reg = helpers.registry()
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    eval_data = helpers.write_data(tmp_path / "eval-data")
    evaluate(str(export), ["toy-tagger", "toy-echo"], eval_data, "test", tmp_path / "eval", "score", registry=reg, progress=False, limit=3)
    updated = card_cli(export, "--eval-results", tmp_path / "eval", "--dataset", "me/mix")
    assert updated.exit_code == 0, updated.output
    card = ModelCard.load(export / "README.md")
    scores = json.loads((tmp_path / "eval" / "metrics.json").read_text())["tasks"]
    results = {r.dataset_name: r for r in card.data.eval_results}
    assert set(results) == {"toy-tagger", "toy-echo"} and card.data.datasets == ["me/mix"]
    tagger = results["toy-tagger"]
    assert (tagger.task_type, tagger.dataset_split, tagger.metric_type) == ("token-classification", "test", "f1")
    assert tagger.metric_value == round(scores["toy-tagger"]["score"], 4) and tagger.metric_args["mode"] == "score" and tagger.metric_args["n"] == 3
    assert results["toy-echo"].task_type == "question-answering"
    assert card.data.to_dict()["model-index"][0]["name"] == "my-run"
    assert f"| toy-tagger | test | sample of 3 | score | f1 | {scores['toy-tagger']['score']:.4f} | 3 |" in card.text
    assert card.data.license == "mit" and card.data.to_dict()["medtuned"]["training_data"] == block["training_data"]  # the rest is kept

    evaluate(str(base), ["toy-echo"], eval_data, "test", tmp_path / "eval-base", "score", registry=reg, progress=False, limit=3)
    refused = card_cli(export, "--eval-results", tmp_path / "eval-base")
    assert refused.exit_code != 0 and "not this model folder" in refused.output and "Traceback" not in refused.output

    assert fake_hub.calls == []
    pushed = card_cli(export, "--push-to-hub", "me/model", "--public")
    assert pushed.exit_code == 0, pushed.output
    assert fake_hub.calls[0] == ("create_repo", "me/model", "model", False)
    assert fake_hub.calls[1][0] == "upload_folder" and {"README.md", "model.safetensors", "config.json"} <= set(fake_hub.calls[1][2])

    not_ours = card_cli(base)
    assert not_ours.exit_code != 0 and "not a MedTuned model card" in not_ours.output
