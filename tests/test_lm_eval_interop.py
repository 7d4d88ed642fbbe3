"""`medtuned export lm-eval`: tasks lm-evaluation-harness runs, scored by MedTuned's own hooks.

The round trip runs lm-eval's Python API on exported tasks with a tiny local Llama on the CPU and checks its figures
against `medtuned evaluate` on the same examples: multiple choice (`acc`) against `--choice-scoring loglik`, and a
generation task's generations and entity F1 against generate mode with the same budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("lm_eval", reason="the lm-eval extra is not installed (pip install 'medtuned-core[lm-eval]')")
pytest.importorskip("transformers")

from medtuned_core import cli as cli_module  # noqa: E402
from medtuned_core import lm_eval_hooks  # noqa: E402
from medtuned_core.lm_eval_export import UTILS, export_lm_eval  # noqa: E402
from medtuned_core.plugins import get_registry  # noqa: E402
from medtuned_core.scoring import score_rows  # noqa: E402

CHOICE_TASKS, GENERATION_TASK = ("gad", "medqa"), "ncbi-disease"
LIMIT, MAX_NEW_TOKENS = 8, 12


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from medtuned_core.testing_models import sample_data_root

    tmp = tmp_path_factory.mktemp("lmeval")
    return tmp, sample_data_root(tmp / "data", [*CHOICE_TASKS, GENERATION_TASK])


def tiny_model(folder: Path, chat: bool = False) -> Path:
    """A tiny random Llama whose answers vary (weights drawn wide enough that GAD gets both labels)."""
    from medtuned_core.testing_models import build_tiny_model

    if not folder.is_dir():
        build_tiny_model(folder, weight_std=0.2, seed=2, chat=chat)
        # lm-eval's hf model bounds generation by max_length, which a generation_config max_new_tokens would override.
        config = json.loads((folder / "generation_config.json").read_text())
        config.pop("max_new_tokens", None)
        (folder / "generation_config.json").write_text(json.dumps(config))
    return folder


def _lm_eval(model: Path, folder: Path, tasks: list[str]) -> dict:
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(folder), include_defaults=False)
    return lm_eval.simple_evaluate(
        model="hf", model_args=f"pretrained={model},dtype=float32", tasks=tasks, task_manager=manager, batch_size=1, device="cpu", bootstrap_iters=0
    )


def _predictions(folder: Path) -> dict[tuple[str, str], dict]:
    rows = (json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines())
    return {(r["task"], r["id"]): r for r in rows}


@pytest.mark.parametrize("fmt", ["alpaca", "chat"])
def test_round_trip_lm_eval_equals_medtuned_evaluate(setup, fmt):
    from medtuned_core.evaluate.runner import evaluate

    tmp, root = setup
    tmp = tmp / fmt
    model = tiny_model(tmp / "model", chat=fmt == "chat")
    folder = tmp / "tasks"
    exported = export_lm_eval([*CHOICE_TASKS, GENERATION_TASK], folder, root, limit=LIMIT, model=str(model), prompt_format=fmt, max_new_tokens=MAX_NEW_TOKENS)
    kinds = {e.task: e.output_type for e in exported}
    assert kinds == {"gad": "multiple_choice", "medqa": "multiple_choice", GENERATION_TASK: "generate_until"}
    assert {e.task: e.max_gen_toks for e in exported}[GENERATION_TASK] == MAX_NEW_TOKENS  # every NER row's own budget is larger

    out = _lm_eval(model, folder, [e.name for e in exported])
    results, samples = out["results"], out["samples"]

    common = {"n_boot": 0, "progress": False, "prompt_format": fmt, "batch_size": 1, "dtype": "float32"}
    scored = evaluate(str(model), list(CHOICE_TASKS), root, "test", tmp / "eval-score", "score", LIMIT, choice_scoring="loglik", **common)
    generated = evaluate(str(model), GENERATION_TASK, root, "test", tmp / "eval-generate", "generate", LIMIT, max_new_tokens=MAX_NEW_TOKENS, **common)
    ours = _predictions(tmp / "eval-score") | _predictions(tmp / "eval-generate")

    for task in CHOICE_TASKS:
        name, docs = f"medtuned_{task}", samples[f"medtuned_{task}"]
        assert len(docs) == LIMIT and {d["doc"]["id"] for d in docs} == {i for t, i in ours if t == task}  # the same sample
        rows = [ours[(task, d["doc"]["id"])] for d in docs]
        accuracy = sum(r["prediction"] == r["reference"] for r in rows) / len(rows)
        assert results[name]["acc,none"] == pytest.approx(accuracy)
        assert results[name][f"{lm_eval_hooks.metric_key(scored['tasks'][task]['metric'])},none"] == pytest.approx(scored["tasks"][task]["score"])
        for doc, row in zip(docs, rows, strict=True):
            lls = [float(r[0]) for r in doc["filtered_resps"]]
            choices = doc["doc"]["choices"]
            assert choices[lls.index(max(lls))] == row["prediction"]
            # lm-eval moves the prompt's trailing "\n" into every continuation: the same extra term for each choice.
            # (Its acc_norm divides that term too, by each choice's length: not quite MedTuned's loglik-norm.)
            text = {c: row["decode"]["choice_logprobs"][c] - row["decode"]["end_logprobs"][c] for c in choices}
            offsets = [ll - text[c] for ll, c in zip(lls, choices, strict=True)]
            assert max(offsets) - min(offsets) < 1e-3 and max(offsets) < 0
    assert len({ours[("medqa", d["doc"]["id"])]["prediction"][0] for d in samples["medtuned_medqa"]}) > 1  # not one letter everywhere
    assert len({ours[("gad", d["doc"]["id"])]["prediction"] for d in samples["medtuned_gad"]}) == 2 and scored["tasks"]["gad"]["score"] > 0

    docs = samples[f"medtuned_{GENERATION_TASK.replace('-', '_')}"]
    assert [d["resps"][0][0] for d in docs] == [ours[(GENERATION_TASK, d["doc"]["id"])]["prediction"] for d in docs]
    result = results[f"medtuned_{GENERATION_TASK.replace('-', '_')}"]
    assert result["entity_f1,none"] == pytest.approx(generated["tasks"][GENERATION_TASK]["score"])
    assert result["unparsed,none"] == generated["tasks"][GENERATION_TASK]["unparsed"]


def _docs(folder: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (folder / f"{name}.jsonl").read_text().splitlines()]


def test_hooks_score_like_medtuned_score_and_acc_like_lm_eval(setup):
    """No model: answers made from the references (every other one damaged) score through the hooks exactly as
    `medtuned score` scores them; `acc`/`acc_norm` match lm-eval's own multiple_choice processing."""
    import yaml
    from lm_eval.api.task import ConfigurableTask

    tmp, root = setup
    folder = tmp / "hooks"
    export_lm_eval(["gad", GENERATION_TASK], folder, root, limit=6)
    docs = _docs(folder, "medtuned_ncbi_disease")
    answers = [d["reference"] if k % 2 else d["reference"].replace(": O", ": B", 1) for k, d in enumerate(docs)]
    items = [lm_eval_hooks.process_generation(d, [a])["entity_f1"] for d, a in zip(docs, answers, strict=True)]
    expected = score_rows(get_registry(), [lm_eval_hooks.score_row(d, a) for d, a in zip(docs, answers, strict=True)])[GENERATION_TASK]
    assert lm_eval_hooks.aggregate(items) == pytest.approx(expected["score"]) and 0 < expected["score"] < 1
    assert lm_eval_hooks.unparsed(items) == expected["unparsed"] == 0

    config = yaml.safe_load("\n".join(line for line in (folder / "medtuned_gad.yaml").read_text().splitlines() if "!function" not in line))
    config.pop("metric_list")
    builtin = ConfigurableTask(config=config | {"metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]})
    for doc, lls in zip(_docs(folder, "medtuned_gad"), [(-1.0, -2.0), (-9.0, -8.5), (-3.0, -3.0), (-16.0, -17.0), (-2.5, -1.0), (-4.0, -4.1)], strict=False):
        results = [(ll, False) for ll in lls]
        ours = lm_eval_hooks.process_choice(doc, results)
        assert {k: ours[k] for k in ("acc", "acc_norm")} == builtin.process_results(doc, results)
        assert ours["medtuned_f1"]["prediction"] == doc["choices"][0 if lls[0] >= lls[1] else 1]


def _run(*args: str):
    return CliRunner().invoke(cli_module.cli, [str(a) for a in args])


def test_cli_writes_yaml_lm_eval_loads(setup, tmp_path):
    from lm_eval.tasks import TaskManager

    _, root = setup
    out = tmp_path / "tasks"
    result = _run("export", "lm-eval", "--tasks", "gad,hoc", "--data-dir", root, "--out", out, "--limit", "3")
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "hoc" in result.output  # HoC's data is not in this root
    assert not out.exists()  # everything is read before anything is written
    result = _run("export", "lm-eval", "--tasks", "gad", "--data-dir", root, "--out", out, "--limit", "3", "--format", "alpaca")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["medtuned_gad.jsonl", "medtuned_gad.yaml", UTILS]
    task = TaskManager(include_path=str(out), include_defaults=False).load(["medtuned"])["tasks"]
    (loaded,) = task.values()
    assert loaded.OUTPUT_TYPE == "multiple_choice" and len(list(loaded.test_docs())) == 3
    doc = next(iter(loaded.test_docs()))
    assert loaded.doc_to_text(doc).endswith("### Output:\n") and loaded.doc_to_choice(doc) == ["Positive", "Negative"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tasks", "gadd"], "unknown task 'gadd'"),
        (["--tasks", "gad", "--format", "chat"], "--format chat needs --model"),
        (["--tasks", "gad", "--limit", "0"], "Invalid value for '--limit'"),
    ],
)
def test_cli_errors_are_one_line(setup, tmp_path, args, needle):
    result = _run("export", "lm-eval", "--data-dir", setup[1], "--out", tmp_path / "o", *args)
    assert result.exit_code in (1, 2) and needle in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_refuses_a_utils_py_it_did_not_write(setup, tmp_path):
    (tmp_path / UTILS).write_text("def mine(): ...\n")
    result = _run("export", "lm-eval", "--tasks", "gad", "--data-dir", setup[1], "--out", tmp_path)
    assert result.exit_code == 1 and "not written by `medtuned export lm-eval`" in result.output
    assert (tmp_path / UTILS).read_text() == "def mine(): ...\n" and not list(tmp_path.glob("*.yaml"))


def test_missing_lm_eval_says_how_to_install(setup, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "lm_eval" else real(name, *a))
    result = _run("export", "lm-eval", "--tasks", "gad", "--data-dir", setup[1], "--out", tmp_path / "o")
    assert result.exit_code == 1 and "pip install 'medtuned-core[lm-eval]'" in result.output and result.output.count("\n") == 1


def test_chat_format_prompts_and_stops_in_the_template(setup, tmp_path):
    model = tiny_model(tmp_path / "chat-model", chat=True)
    exported = export_lm_eval(["gad", GENERATION_TASK], tmp_path / "t", setup[1], limit=2, model=str(model), prompt_format="chat")
    docs = _docs(tmp_path / "t", "medtuned_gad")
    assert docs[0]["prompt"].startswith("<s><|system|>") and docs[0]["prompt"].endswith("<|assistant|>\n")
    assert "<|end|>" in (tmp_path / "t" / "medtuned_ncbi_disease.yaml").read_text() and exported[1].output_type == "generate_until"
