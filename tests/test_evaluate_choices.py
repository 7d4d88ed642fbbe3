"""Choice scoring (choices.py), the answer-distribution diagnostics (choice_report.py) and the position-bias
control (permute.py), on a tiny model fine-tuned to answer validly and to always pick the last option."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import choice_helpers as helpers
import pytest
import torch
from click.testing import CliRunner

from medtuned_core import cli as cli_module
from medtuned_core.errors import MedTunedError
from medtuned_core.evaluate import choices as scorings
from medtuned_core.evaluate import permute
from medtuned_core.evaluate.prefix import PrefixCache
from medtuned_core.evaluate.ranking import RankOutcome, choice_ids, rank_batch
from medtuned_core.evaluate.runner import evaluate
from medtuned_core.prompt import ALPACA_FORMAT, ChatFormat


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def formats():
    return [ALPACA_FORMAT, ChatFormat(helpers.tokenizer())]


# -- scorings on hand-made numbers ---------------------------------------------------------------------


def test_greedy_walks_the_prefix_tree_of_the_choices():
    tokens = {"no": [1, 9], "not stated": [1, 2, 3, 9], "yes": [4, 9]}
    # First token: "no"/"not stated" share 1 (-0.5) against "yes" (-1.0); then the end (-2.0) loses to 2 (-0.1).
    lps = {"no": [-0.5, -2.0], "not stated": [-0.5, -0.1, -0.1, -0.9], "yes": [-1.0, -0.1]}
    assert scorings.greedy_choice(list(tokens), tokens, lps) == "not stated"
    # Greedy decides token by token, as generation does; the sums rank otherwise.
    assert scorings.picks(list(tokens), tokens, lps, end_tokens=1) == {
        "greedy": "not stated",
        "loglik": "no",  # text alone: no -0.5, not stated -0.7, yes -1.0
        "loglik-norm": "not stated",  # per character: -0.07, no -0.25, yes -0.33
        "loglik-eos": "yes",  # with the end: yes -1.1, not stated -1.6, no -2.5
    }
    # Ties go to the choice listed first; without scored ends, loglik-eos is missing.
    same = {"a": [5], "b": [6]}
    assert scorings.greedy_choice(["b", "a"], same, {"a": [-1.0], "b": [-1.0]}) == "b"
    assert set(scorings.picks(["a", "b"], same, {"a": [-1.0], "b": [-2.0]}, end_tokens=None)) == {"greedy", "loglik", "loglik-norm"}
    with pytest.raises(MedTunedError, match="available: greedy, loglik, loglik-norm"):
        scorings.primary("a", {"picks": scorings.picks(["a", "b"], same, {"a": [-1.0], "b": [-2.0]}, end_tokens=None)}, "loglik-eos")


def test_an_outcome_without_token_figures_gives_only_its_ranking():
    """A third-party backend returning the old shape (totals only) still works for loglik-eos, and says so otherwise."""
    outcome = RankOutcome("no", {"yes": -3.0, "no": -1.0}, 4)
    assert outcome.diagnostics()["picks"] == {"loglik-eos": "no"}
    assert scorings.primary("no", outcome.diagnostics(), "loglik-eos") == "no"
    with pytest.raises(MedTunedError, match="--choice-scoring greedy"):
        scorings.primary("no", outcome.diagnostics(), "greedy")


# -- the trained tiny model ----------------------------------------------------------------------------


def prompts_and_choices(fmt):
    rows = []
    for e in helpers.mcq_examples(8, seed=7, gold_letters="ABCD"):
        lines = [f"{k}. {v}" for k, v in e["options"].items()]
        rows.append((fmt.prompt(helpers.MCQ.templates[0], e["question"] + "\n\n" + "\n".join(lines)), lines))
    for e in helpers.triage_examples(6, seed=7):
        rows.append((fmt.prompt(helpers.TRIAGE.templates[0], e["text"]), list(helpers.TRIAGE.labels)))
    return rows


@torch.inference_mode()
def stepwise_constrained_greedy(model, tok, fmt, prompt: str, choices: list[str]) -> str:
    """The reference: decode one token at a time with a plain forward pass, allowing only tokens that keep
    the answer on the way to a choice (its tokens, then the format's answer end)."""
    prompt_ids = list(tok(prompt, add_special_tokens=fmt.add_special_tokens)["input_ids"])
    sequences = {c: choice_ids(tok, c, fmt) for c in choices}
    done: list[int] = []
    while True:
        alive = [c for c, ids in sequences.items() if ids[: len(done)] == done]
        complete = [c for c in alive if len(sequences[c]) == len(done)]
        if complete:
            return complete[0]
        allowed = sorted({sequences[c][len(done)] for c in alive})
        logits = model(torch.tensor([prompt_ids + done])).logits[0, -1]
        done.append(allowed[int(torch.argmax(logits[allowed]))])


@pytest.mark.parametrize("fmt_index", [0, 1], ids=["alpaca", "chat"])
def test_greedy_choice_is_exact_constrained_greedy_decoding(fmt_index):
    model, tok = helpers.trained_model(), helpers.tokenizer()
    fmt = formats()[fmt_index]
    rows = prompts_and_choices(fmt)
    ranked = rank_batch(model, tok, [p for p, _ in rows], [c for _, c in rows], prefixes=PrefixCache(), fmt=fmt, max_rows=5)
    for (prompt, choices), outcome in zip(rows, ranked, strict=True):
        assert outcome.picks()["greedy"] == stepwise_constrained_greedy(model, tok, fmt, prompt, choices)
        # Every scoring is read from the same per-token figures, whose sums are the totals.
        for c in choices:
            assert sum(outcome.token_logprobs[c]) == pytest.approx(outcome.scores[c], abs=1e-9)
            assert outcome.tokens[c] == choice_ids(tok, c, fmt) and outcome.end_tokens == len(fmt.end_ids(tok))


def run(out: Path, data: Path, mode: str, fmt: str, **kwargs) -> dict:
    model = (helpers.trained_model(), helpers.tokenizer())
    tasks = [helpers.MCQ.name, helpers.TRIAGE.name]
    return evaluate(model, tasks, data, "test", out, mode, registry=helpers.registry(), progress=False, batch_size=4, prompt_format=fmt, **kwargs)


@pytest.mark.parametrize("fmt", ["alpaca", "chat"])
def test_score_mode_answers_what_generation_answers_whenever_generation_is_valid(tmp_path, fmt):
    data = helpers.write_data(tmp_path / "data")
    run(tmp_path / "gen", data, "generate", fmt)
    metrics = run(tmp_path / "score", data, "score", fmt)
    generated = {(r["task"], r["id"]): r["prediction"] for r in read_rows(tmp_path / "gen" / "predictions.jsonl")}
    scored = {(r["task"], r["id"]): r for r in read_rows(tmp_path / "score" / "predictions.jsonl")}
    valid = 0
    for key, row in scored.items():
        assert row["method"] == "rank" and row["prediction"] == row["decode"]["picks"]["greedy"]
        if generated[key] in row["decode"]["choice_logprobs"]:
            valid += 1
            assert row["prediction"] == generated[key], key
    assert valid >= 9  # every triage row at least (the shared "no" / "not stated" prefix included)
    # Every scoring is in metrics.json, the primary one is the task's score.
    for task in (helpers.MCQ.name, helpers.TRIAGE.name):
        report = metrics["tasks"][task]["choices"]
        assert report["scoring"] == "greedy" and set(report["variants"]) == set(scorings.SCORINGS)
        assert report["variants"]["greedy"]["score"] == metrics["tasks"][task]["score"]
    assert metrics["tasks"][helpers.MCQ.name]["method_reasons"] == {"rank: constrained greedy over the choices": 10}


def test_a_position_biased_model_is_flagged_and_the_permutation_control_corrects_it(tmp_path, monkeypatch):
    """The model always answers D; four of the ten gold answers are D, so its plain accuracy (0.4) is an artefact
    of the position. The distribution flags D; over the cyclic rotations of every question it scores chance."""
    data = helpers.write_data(tmp_path / "data", mcq_gold="ABCDDABCDD")
    out = tmp_path / "perm"
    metrics = run(out, data, "score", "alpaca", permute_choices="cyclic")
    mcq = metrics["tasks"][helpers.MCQ.name]
    report = mcq["choices"]
    assert mcq["n"] == 10 and mcq["score"] == pytest.approx(0.4)
    assert report["distribution"]["predicted"] == {"D": 10} and report["distribution"]["gold"] == {"A": 2, "B": 2, "C": 2, "D": 4}
    assert report["distribution"]["flagged"] == ["D"]
    greedy = report["positions"]["greedy"]
    assert (greedy["questions"], greedy["rotations"]) == (10, 4)
    assert greedy["plain"] == pytest.approx(0.4) and greedy["balanced"] == pytest.approx(0.25)
    assert greedy["per_position"] == {"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0}
    assert greedy["predicted_positions"] == {"D": 40} and greedy["circular"] == 0.0 and greedy["consistent"] == 0.0
    assert greedy["debiased"] == pytest.approx(0.25)  # a pure position-picker: chance, whatever the gold positions
    # Rotations are stored (resumable) but are not the task's examples: `medtuned score` agrees with metrics.json.
    rows = read_rows(out / "predictions.jsonl")
    assert len([r for r in rows if r["task"] == helpers.MCQ.name]) == 40
    rotated = next(r for r in rows if r["id"] == "0~rot1")
    assert rotated["rotation"] == 1 and rotated["rotation_of"] == "0" and rotated["choice_order"] == [1, 2, 3, 0]
    reg = helpers.registry()
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    rescored = json.loads(CliRunner().invoke(cli_module.cli, ["score", str(out / "predictions.jsonl"), "--json"], catch_exceptions=False).stdout)
    assert rescored[helpers.MCQ.name]["score"] == mcq["score"] and rescored[helpers.MCQ.name]["n"] == 10
    # The triage task lists no options in its prompt: asked once, reported without positions.
    assert "positions" not in metrics["tasks"][helpers.TRIAGE.name]["choices"]
    text = (out / "results.md").read_text(encoding="utf-8")
    assert "## Choice tasks" in text and "D 10 ⚠ (4)" in text and "Position-bias control" in text


def test_the_control_also_runs_on_generated_answers(tmp_path):
    """Generate mode: answers are parsed (the model writes "D. <a finding>", not always an option's text) and
    mapped to the option their letter names; the aggregate is a vote per rotation."""
    data = helpers.write_data(tmp_path / "data", mcq_gold="ABCDDABCDD", n_triage=0)
    metrics = run(tmp_path / "gen", data, "generate", "chat", permute_choices="cyclic")
    report = metrics["tasks"][helpers.MCQ.name]["choices"]
    assert report["scoring"] == "generate" and "variants" not in report
    assert report["distribution"]["flagged"] == ["D"]
    positions = report["positions"]["generate"]
    assert positions["predicted_positions"] == {"D": 40}
    assert positions["plain"] == pytest.approx(0.4) and positions["balanced"] == pytest.approx(0.25) and positions["debiased"] == pytest.approx(0.25)


class PositionBiasedScorer:
    """A constructed model: it knows the answer (+1 for the gold option) and prefers the last letter (+3), both
    added to its log-probabilities. Ranking only; one token per choice."""

    name = "biased"
    model_name = "biased-scorer"
    capabilities = frozenset({"generate", "rank"})

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]

    def generate(self, requests, max_new_tokens):
        return ["D." for _ in requests]

    def rank(self, requests):
        out = []
        for request in requests:
            lps = {c: [(c == request.row["output"]) * 1.0 + c.startswith("D.") * 3.0 - 10.0] for c in request.choices}
            out.append(RankOutcome.from_tokens(request.choices, {c: [c] for c in request.choices}, lps, 0, 1))
        return out


@pytest.mark.parametrize("scoring", ["greedy", "loglik"])
def test_permutation_debiasing_cancels_an_additive_position_preference(tmp_path, scoring):
    data = helpers.write_data(tmp_path / "data", mcq_gold="ABCDDABCDD")
    metrics = evaluate(
        PositionBiasedScorer(),
        [helpers.MCQ.name],
        data,
        "test",
        tmp_path / "out",
        "score",
        registry=helpers.registry(),
        progress=False,
        prompt_format="alpaca",
        choice_scoring=scoring,
        permute_choices="cyclic",
    )
    report = metrics["tasks"][helpers.MCQ.name]["choices"]
    assert metrics["tasks"][helpers.MCQ.name]["score"] == pytest.approx(0.4) and report["distribution"]["flagged"] == ["D"]
    positions = report["positions"][scoring]
    assert positions["balanced"] == pytest.approx(0.25)
    if scoring == "loglik":
        assert positions["debiased"] == 1.0  # every option sits at D once: the preference cancels, the knowledge remains
    else:
        assert positions["debiased"] == pytest.approx(0.25)  # greedy always says D: one vote per option, a four-way tie


# -- rotations -----------------------------------------------------------------------------------------


def test_rotations_move_the_option_texts_and_keep_the_letters(tmp_path):
    """A MedQA row as the installed task renders it (through the labels kit) is rotated option by option."""
    from medtuned_core.plugins import get_registry
    from medtuned_core.render import render_split

    registry = get_registry()
    task = registry.get("medqa")
    folder = tmp_path / task.data_folder
    folder.mkdir()
    example = {"question": "Which drug?", "options": {"A": "aspirin", "B": "insulin", "C": "heparin", "D": "saline"}, "answer_idx": "B", "answer": "insulin"}
    (folder / "test.jsonl").write_text(json.dumps(example) + "\n")
    (row,) = render_split(registry, task, tmp_path, "test")
    rows = permute.expand([row])
    assert [r["id"] for r in rows] == [row["id"], f"{row['id']}~rot1", f"{row['id']}~rot2", f"{row['id']}~rot3"]
    assert rows[0]["input"] == row["input"] and rows[0]["rotation"] == 0
    second = rows[1]
    assert second["choices"] == ["A. insulin", "B. heparin", "C. saline", "D. aspirin"]
    assert second["input"] == "Which drug?\n\nA. insulin\nB. heparin\nC. saline\nD. aspirin"
    assert second["output"] == "A. insulin" and second["choice_order"] == [1, 2, 3, 0]
    # Over the rotations the gold answer sits once at every letter.
    assert sorted(r["output"][0] for r in rows) == ["A", "B", "C", "D"]
    # Rows whose options the prompt does not list, or that are not lettered in order, are asked once.
    for other in (
        {"id": "1", "input": "Is it?", "output": "yes", "choices": ["yes", "no"]},
        {"id": "2", "input": "Q\n\nB. x\nA. y", "output": "B. x", "choices": ["B. x", "A. y"]},
        {"id": "3", "input": "Q", "output": "A. x", "choices": ["A. x", "B. y"]},
        {"id": "4", "input": "Q\n\nA. x\nB. y", "output": "C. z", "choices": ["A. x", "B. y"]},
    ):
        assert permute.expand([other]) == [other]
    with pytest.raises(MedTunedError, match="--permute-choices"):
        permute.check_permutation("random")


def test_choice_options_change_the_run_identity(tmp_path):
    """A folder of greedy predictions is not resumed under another scoring (its stored answers would be wrong)."""
    data = helpers.write_data(tmp_path / "data", n_mcq=2, n_triage=0)
    model = (helpers.trained_model(), helpers.tokenizer())
    args = (model, [helpers.MCQ.name], data, "test", tmp_path / "out", "score")
    first = evaluate(*args, registry=helpers.registry(), progress=False, prompt_format="alpaca")
    assert first["run"]["choice_scoring"] == "greedy" and first["run"]["permute_choices"] is None
    with pytest.raises(MedTunedError, match="choice_scoring: 'greedy' -> 'loglik'"):
        evaluate(*args, registry=helpers.registry(), progress=False, prompt_format="alpaca", choice_scoring="loglik")
    with pytest.raises(MedTunedError, match="unknown choice scoring"):
        evaluate(*args, registry=helpers.registry(), progress=False, choice_scoring="best")


def test_cli_choice_options(tmp_path, monkeypatch):
    data = helpers.write_data(tmp_path / "data", n_mcq=3, n_triage=3)
    reg = helpers.registry()
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    model_dir = tmp_path / "model"
    copy.deepcopy(helpers.trained_model()).to(torch.float32).save_pretrained(model_dir)
    helpers.tokenizer().save_pretrained(model_dir)
    out = tmp_path / "out"
    args = ["evaluate", "--model", model_dir, "--tasks", "toy-mcq,toy-triage", "--data-dir", data, "--out", out, "--mode", "score"]
    result = CliRunner().invoke(cli_module.cli, [str(a) for a in [*args, "--format", "alpaca", "--choice-scoring", "loglik", "--json"]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["run"]["choice_scoring"] == "loglik"
    for row in read_rows(out / "predictions.jsonl"):
        assert row["prediction"] == row["decode"]["picks"]["loglik"]
    bad = CliRunner().invoke(cli_module.cli, [str(a) for a in [*args, "--choice-scoring", "best"]])
    assert bad.exit_code != 0 and "Invalid value for '--choice-scoring'" in bad.output
