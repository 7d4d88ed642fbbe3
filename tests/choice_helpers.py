"""Toy choice tasks and a quickly fine-tuned tiny model for the choice-scoring tests (all text invented).

- ``toy-mcq`` (family qa): four lettered options listed in the input (``A. word`` lines, MedQA's layout),
  the gold output one of them; parsed by its leading letter, scored by accuracy.
- ``toy-triage`` (family cls): answers ``yes``, ``no`` or ``not stated`` (two choices share a prefix), listed
  in no prompt.

:func:`trained_model` fine-tunes the tiny Llama of testing_models for a few seconds so that it answers both
tasks validly and ends its answers — in the Alpaca and in the chat format — and always picks the **last**
option of a multiple-choice question: a position-biased model made on purpose.
"""

from __future__ import annotations

import functools
import json
import random
import re
import sys
from pathlib import Path

from medtuned_core import Parsed, TaskInfo, hookimpl
from medtuned_core.corpus import split_file
from medtuned_core.plugins import Registry, make_registry

MCQ = TaskInfo(
    name="toy-mcq",
    family="qa",
    description="Toy multiple-choice questions (test fixture).",
    metric="accuracy",
    splits=("train", "test"),
    data_folder="ToyMCQ",
    templates=("Pick the option that names a finding.",),
    citation="none (test fixture)",
    license="CC0-1.0",
)
TRIAGE = TaskInfo(
    name="toy-triage",
    family="cls",
    description="Toy yes / no / not stated questions (test fixture).",
    metric="accuracy",
    splits=("train", "test"),
    data_folder="ToyTriage",
    templates=("Does the note mention a finding? Answer yes, no or not stated.",),
    labels=("yes", "no", "not stated"),
    citation="none (test fixture)",
    license="CC0-1.0",
)
MINE = {MCQ.name, TRIAGE.name}
LETTERS = "ABCD"
FINDINGS = "fever cough nausea tumour rash edema".split()
OTHERS = "table window river pencil garden ladder music paper".split()
_LEADING = re.compile(r"^\s*\(?([A-D])[.)]")


def mcq_examples(n: int, *, seed: int, gold_letters: str | None = None) -> list[dict]:
    """``n`` questions; ``gold_letters`` sets where each gold answer sits (cycled), else always the last."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        letter = gold_letters[i % len(gold_letters)] if gold_letters else LETTERS[-1]
        words = rng.sample(OTHERS, 3)
        words.insert(LETTERS.index(letter), rng.choice(FINDINGS))
        out.append({"id": str(i), "question": "Which word names a finding?", "options": dict(zip(LETTERS, words, strict=True)), "answer_idx": letter})
    return out


def triage_examples(n: int, *, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = ("yes", "no", "not stated")[i % 3]
        words = rng.sample(OTHERS, 3) + ([rng.choice(FINDINGS)] if label == "yes" else [])
        rng.shuffle(words)
        text = " ".join(words) if label != "not stated" else "unreadable note"
        out.append({"id": str(i), "text": text, "label": label})
    return out


@hookimpl
def medtuned_register_tasks():
    return [MCQ, TRIAGE]


@hookimpl
def medtuned_load_corpus(task, data_dir, split, options):
    if task.name not in MINE:
        return None
    path = split_file(task.name, Path(data_dir) / task.data_folder, split, ["{split}.jsonl"])
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@hookimpl
def medtuned_render_instruction(task, example, instruction):
    if task.name == MCQ.name:
        lines = [f"{k}. {v}" for k, v in example["options"].items()]
        answer = example["answer_idx"]
        return {"input": example["question"] + "\n\n" + "\n".join(lines), "output": f"{answer}. {example['options'][answer]}", "choices": lines}
    if task.name == TRIAGE.name:
        return {"input": example["text"], "output": example["label"], "choices": list(TRIAGE.labels)}
    return None


@hookimpl
def medtuned_parse_output(task, text, input, reference):
    if task.name == MCQ.name:
        m = _LEADING.match(text)
        return Parsed(m.group(1) if m else None, ok=m is not None)
    if task.name == TRIAGE.name:
        word = text.strip().lower()
        return Parsed(word if word in TRIAGE.labels else None, ok=word in TRIAGE.labels)
    return None


@hookimpl
def medtuned_score(task, golds, preds, rows):
    if task.name not in MINE:
        return None
    right = sum(p.ok and g.value == p.value for g, p in zip(golds, preds, strict=True))
    return {"metric": "accuracy", "score": right / len(golds) if golds else 0.0}


def registry() -> Registry:
    reg = make_registry([sys.modules[__name__]], autoload=False)
    assert all(p.ok for p in reg.plugins), [p.error for p in reg.plugins]
    return reg


def write_data(root: Path, *, mcq_gold: str = "ABCDDABCDD", n_mcq: int = 10, n_triage: int = 9) -> Path:
    """A data root: ``test`` splits of both tasks (MCQ gold letters cycled from ``mcq_gold``)."""
    for task, examples in ((MCQ, mcq_examples(n_mcq, seed=7, gold_letters=mcq_gold)), (TRIAGE, triage_examples(n_triage, seed=7))):
        folder = root / task.data_folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "test.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples), encoding="utf-8")
    return root


@functools.cache
def tokenizer():
    from medtuned_core.testing_models import tiny_tokenizer

    corpus = [f"{w} {LETTERS}. {' '.join(FINDINGS + OTHERS)} yes no not stated Which word names a finding?" for w in FINDINGS]
    from medtuned_core.testing_models import tokenizer_corpus

    return tiny_tokenizer([*tokenizer_corpus(), *corpus], chat=True)


def _training_rows() -> list[tuple[str, str]]:
    """(instruction, input, output) rows of both tasks, MCQ answers always the last option."""
    rows = []
    for e in mcq_examples(64, seed=1):
        lines = [f"{k}. {v}" for k, v in e["options"].items()]
        rows.append((MCQ.templates[0], e["question"] + "\n\n" + "\n".join(lines), lines[-1]))
    for e in triage_examples(48, seed=1):
        rows.append((TRIAGE.templates[0], e["text"], e["label"]))
    return rows


@functools.cache
def trained_model(steps: int = 100):
    """The tiny model fine-tuned on both tasks in both prompt formats (float64, eval mode)."""
    import torch

    from medtuned_core.prompt import ALPACA_FORMAT, ChatFormat, encode_prompts
    from medtuned_core.testing_models import tiny_llama

    torch.manual_seed(0)
    tok = tokenizer()
    model = tiny_llama(tok, hidden_size=64, num_layers=2, seed=0)
    formats = [ALPACA_FORMAT, ChatFormat(tok)]
    examples = []
    for fmt in formats:
        for instruction, text, output in _training_rows():
            prompt = list(encode_prompts(fmt, tok, [fmt.prompt(instruction, text)])["input_ids"][0])
            answer = list(tok(output, add_special_tokens=False)["input_ids"]) + fmt.end_ids(tok)
            examples.append((prompt, answer))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(0)
    model.train()
    for _ in range(steps):
        batch = rng.sample(examples, 16)
        width = max(len(p) + len(a) for p, a in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id)
        labels = torch.full((len(batch), width), -100)
        mask = torch.zeros(len(batch), width, dtype=torch.long)
        for i, (p, a) in enumerate(batch):
            seq = p + a
            ids[i, : len(seq)] = torch.tensor(seq)
            labels[i, len(p) : len(seq)] = torch.tensor(a)
            mask[i, : len(seq)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval().to(torch.float64)
