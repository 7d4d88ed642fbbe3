"""Toy tasks and tiny models for the evaluation tests (all text invented).

Registered in-process as a plugin beside the core's toy yes/no plugin (which carries a ``choices`` hint):

- ``toy-tagger`` (family ner): ``token<TAB>tag`` files, B/I/O tags, rendered ``token : tag`` lines with a
  ``tagging`` hint, a position-aligned parser and exact-span entity F1;
- ``toy-echo`` (family qa): a free-text answer with no hint (score mode falls back to generation).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from plugin_helpers import TOY_SAMPLES, toy_module

from medtuned_core import Parsed, TaskInfo, hookimpl
from medtuned_core.corpus import numbered_lines, split_file
from medtuned_core.plugins import Registry, make_registry

TAG_LABELS = ("B", "I", "O")
TAGGER = TaskInfo(
    name="toy-tagger",
    family="ner",
    description="Toy finding tagger (test fixture).",
    metric="f1",
    splits=("test",),
    data_folder="ToyTagger",
    templates=("Mark each word: B starts a finding, I continues it, O is outside.", "Label every token with B, I or O for findings."),
    labels=TAG_LABELS,
    citation="none (test fixture)",
    license="CC0-1.0",
)
ECHO = TaskInfo(
    name="toy-echo",
    family="qa",
    description="Toy short answers (test fixture).",
    metric="accuracy",
    splits=("test",),
    data_folder="ToyEcho",
    templates=("Answer in one word.",),
    citation="none (test fixture)",
    license="CC0-1.0",
)
MINE = {TAGGER.name, ECHO.name}

SENTENCES = [
    [("mild", "B"), ("fever", "I"), ("was", "O"), ("noted", "O")],
    [("no", "O"), ("cough", "B"), ("today", "O")],
    [("the", "O"), ("patient", "O"), ("had", "O"), ("acute", "B"), ("renal", "I"), ("failure", "I"), ("and", "O"), ("nausea", "B")],
    [("dose", "O"), ("of", "O"), ("insulin", "O"), ("was", "O"), ("raised", "O")],
    [("severe", "B"), ("headache", "I"), ("after", "O"), ("the", "O"), ("scan", "O")],
    [("biopsy", "O"), ("showed", "O"), ("a", "O"), ("tumour", "B")],
]
ECHO_ROWS = [("What colour is the sky?", "blue"), ("Opposite of hot?", "cold"), ("One plus one?", "two")]


@hookimpl
def medtuned_register_tasks():
    return [TAGGER, ECHO]


@hookimpl
def medtuned_load_corpus(task, data_dir, split, options):
    if task.name not in MINE:
        return None
    if task.name == ECHO.name:
        path = split_file(task.name, Path(data_dir) / task.data_folder, split, ["{split}.tsv"])
        return ({"id": str(n), "question": line.split("\t")[0], "answer": line.split("\t")[1]} for n, line in numbered_lines(path) if line)
    path = split_file(task.name, Path(data_dir) / task.data_folder, split, ["{split}.tsv"])
    return _sentences(path)


def _sentences(path):
    tokens, tags, n = [], [], 0
    for _, line in [*numbered_lines(path), (0, "")]:
        if line:
            token, tag = line.split("\t")
            tokens.append(token)
            tags.append(tag)
        elif tokens:
            n += 1
            yield {"id": str(n), "tokens": tokens, "tags": tags}
            tokens, tags = [], []


@hookimpl
def medtuned_render_instruction(task, example, instruction):
    if task.name not in MINE:
        return None
    if task.name == ECHO.name:
        return {"input": example["question"], "output": example["answer"]}
    tokens = example["tokens"]
    return {
        "input": " ".join(tokens),
        "output": "\n".join(f"{t} : {y}" for t, y in zip(tokens, example["tags"], strict=True)),
        "tagging": {"tokens": tokens, "labels": list(TAG_LABELS), "line": "{token} : {label}", "sep": "\n"},
    }


@hookimpl
def medtuned_parse_output(task, text, input, reference):
    if task.name not in MINE:
        return None
    if task.name == ECHO.name:
        word = text.strip().lower()
        return Parsed(word, ok=bool(word))
    n = len(input.split()) if input else None
    tags, bad = [], 0
    for line in text.strip().splitlines():
        word, sep, tag = line.rpartition(" : ")
        if sep and tag.strip() in TAG_LABELS:
            tags.append(tag.strip())
        else:
            bad += 1
    if n is not None:
        missing = max(0, n - len(tags))
        tags = (tags + ["O"] * missing)[:n]
    else:
        missing = 0
    return Parsed(tags, ok=bad == 0 and missing == 0 and bool(tags), diagnostics={"invalid": bad, "missing": missing})


def spans(tags):
    out, start = set(), None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and tag != "I":
            out.add((start, i))
            start = None
        if tag == "B" or (tag == "I" and start is None):
            start = i
    return out


@hookimpl
def medtuned_score(task, golds, preds, rows):
    if task.name not in MINE:
        return None
    if task.name == ECHO.name:
        right = sum(p.ok and g.value == p.value for g, p in zip(golds, preds, strict=True))
        return {"metric": "accuracy", "score": right / len(golds) if golds else 0.0}
    tp = fp = fn = 0
    for g, p in zip(golds, preds, strict=True):
        gold, pred = spans(g.value), spans(p.value if p.ok else [])
        tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"metric": "f1", "score": f1, "precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn}


def write_data(root: Path, sentences=SENTENCES, echo_rows=ECHO_ROWS) -> Path:
    """A data root with ToyTagger/, ToyEcho/ and the core toy plugin's Toy/ folder."""
    tagger = root / TAGGER.data_folder
    tagger.mkdir(parents=True, exist_ok=True)
    (tagger / "test.tsv").write_text("\n\n".join("\n".join(f"{t}\t{y}" for t, y in s) for s in sentences) + "\n", encoding="utf-8")
    echo = root / ECHO.data_folder
    echo.mkdir(parents=True, exist_ok=True)
    (echo / "test.tsv").write_text("".join(f"{q}\t{a}\n" for q, a in echo_rows), encoding="utf-8")
    toy = root / "Toy"
    toy.mkdir(parents=True, exist_ok=True)
    (toy / "test.tsv").write_text((TOY_SAMPLES / "Toy" / "test.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    return root


def registry() -> Registry:
    reg = make_registry([toy_module(), sys.modules[__name__]], autoload=False)
    assert all(p.ok for p in reg.plugins), [p.error for p in reg.plugins]
    return reg


def cli_runner(monkeypatch):
    """``run(*args)``: the medtuned CLI in-process, on the toy registry; returns click's result."""
    from click.testing import CliRunner

    from medtuned_core import cli as cli_module

    reg = registry()
    monkeypatch.setattr(cli_module, "registry", lambda: reg)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_module.cli, [str(a) for a in args], catch_exceptions=False)


@functools.cache
def tokenizer():
    from medtuned_core.testing_models import tiny_tokenizer

    return tiny_tokenizer()


def model(seed: int = 0, dtype=None):
    """A tiny random Llama (hidden 64, 2 layers) in eval mode; ``dtype`` float64 makes exactness tests robust."""
    import torch

    from medtuned_core.testing_models import tiny_llama

    torch.set_num_threads(1)
    m = tiny_llama(tokenizer(), seed=seed).eval()
    return m.to(dtype) if dtype is not None else m
