"""In-process plugins and tiny corpora for the `medtuned build` tests (invented text only).

``MiniPlugin`` provides three tasks, like a third-party package would:

* ``mini-ner``  (family ner): ``MiniNER/{split}.tsv``, one ``sentence<TAB>tags`` per line;
* ``mini-qa``   (family qa, sources alpha/beta/gamma): ``MiniQA/{split}.jsonl`` with a ``source`` field;
* ``mini-vault`` (credentialed): ``Vault/{split}.tsv``, normally absent, to exercise missing sources.
"""

from __future__ import annotations

import json
from pathlib import Path

from medtuned_core import CorpusFormatError, Parsed, TaskInfo, hookimpl
from medtuned_core.corpus import numbered_lines, split_file
from medtuned_core.plugins import make_registry

NER = TaskInfo(
    name="mini-ner",
    family="ner",
    description="Invented sentences with B/I/O tags (build test fixture).",
    metric="f1",
    splits=("train", "validation", "test"),
    data_folder="MiniNER",
    templates=("Tag each word.", "Label every token with B, I or O.", "Mark the entities."),
    citation="none",
    license="CC0-1.0",
)
QA = TaskInfo(
    name="mini-qa",
    family="qa",
    description="Invented questions from three sources (build test fixture).",
    metric="accuracy",
    splits=("train", "test"),
    data_folder="MiniQA",
    templates=("Answer the question.", "Reply briefly."),
    sources=("alpha", "beta", "gamma"),
    citation="none",
    license="CC0-1.0",
)
VAULT = TaskInfo(
    name="mini-vault",
    family="nli",
    description="A credentialed corpus that is usually absent (build test fixture).",
    metric="accuracy",
    splits=("train", "test"),
    data_folder="Vault",
    templates=("Decide.",),
    access="credentialed",
    how_to_obtain="Sign the data use agreement at the vault and unpack it into Vault/.",
    citation="none",
    license="CC0-1.0",
)
TASKS = {t.name: t for t in (NER, QA, VAULT)}


class MiniPlugin:
    """Hook implementations for the three mini tasks; ``fail_after`` makes rendering raise (atomicity tests)."""

    def __init__(self, fail_after: int | None = None, interrupt: bool = False):
        self.fail_after = fail_after
        self.interrupt = interrupt
        self.rendered = 0

    @hookimpl
    def medtuned_register_tasks(self):
        return list(TASKS.values())

    @hookimpl
    def medtuned_load_corpus(self, task, data_dir, split, options):
        if task.name not in TASKS:
            return None
        folder = Path(data_dir) / task.data_folder
        if task.name == "mini-qa":
            return self._read_qa(split_file(task.name, folder, split, ["{split}.jsonl"]))
        return self._read_tsv(split_file(task.name, folder, split, ["{split}.tsv"]))

    @staticmethod
    def _read_tsv(path):
        for lineno, line in numbered_lines(path):
            if not line:
                continue
            sentence, sep, tags = line.partition("\t")
            if not sep:
                raise CorpusFormatError(path, lineno, "expected sentence<TAB>tags")
            yield {"id": str(lineno), "tokens": sentence.split(), "tags": tags.split()}

    @staticmethod
    def _read_qa(path):
        for _, line in numbered_lines(path):
            if line:
                yield json.loads(line)

    @hookimpl
    def medtuned_render_instruction(self, task, example, instruction):
        if task.name not in TASKS:
            return None
        self.rendered += 1
        if self.fail_after is not None and self.rendered > self.fail_after:
            if self.interrupt:
                raise KeyboardInterrupt
            raise RuntimeError("render failed on purpose")
        if task.name == "mini-qa":
            return {"input": example["question"], "output": example["answer"], "choices": ["x", "y"]}
        return {
            "input": " ".join(example["tokens"]),
            "output": "\n".join(f"{t} : {g}" for t, g in zip(example["tokens"], example["tags"], strict=True)),
            "tagging": {"tokens": example["tokens"], "labels": example["tags"], "line": "{token} : {label}", "sep": "\n"},
        }

    @hookimpl
    def medtuned_parse_output(self, task, text, input, reference):
        if task.name not in TASKS:
            return None
        return Parsed(text.strip(), ok=bool(text.strip()))

    @hookimpl
    def medtuned_score(self, task, golds, preds, rows):
        if task.name not in TASKS:
            return None
        right = sum(g.value == p.value for g, p in zip(golds, preds, strict=True))
        return {"metric": "accuracy", "score": right / len(golds) if golds else 0.0}


def mini_registry(plugin: MiniPlugin | None = None):
    return make_registry([plugin or MiniPlugin()], autoload=False)


WORDS = ("fever", "cough", "aspirin", "kidney", "liver", "rash", "gene", "protein", "cell", "dose", "pain", "scan")


def sentence(i: int, salt: str = "") -> tuple[str, str]:
    """A deterministic invented sentence and its tags, distinct for each ``(i, salt)``."""
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(4 + i % 5)] + [f"w{salt}{i}"]
    tags = ["B" if k == 0 else "I" if k == 1 else "O" for k in range(len(words))]
    return " ".join(words), " ".join(tags)


def write_corpora(root: Path, ner: dict[str, int] | None = None, qa: dict[str, dict[str, int]] | None = None, shared_with_train: int = 0) -> Path:
    """Write the mini corpora under ``root``.

    ``ner`` maps split -> sentences; the first ``shared_with_train`` test sentences repeat train
    sentences (with different spacing), to exercise the leakage guard. ``qa`` maps split -> source -> rows.
    """
    ner = {"train": 40, "validation": 10, "test": 12} if ner is None else ner
    qa = {"train": {"alpha": 30, "beta": 20, "gamma": 5}, "test": {"alpha": 4}} if qa is None else qa
    folder = root / "MiniNER"
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in ner.items():
        lines = []
        for i in range(n):
            if split == "test" and i < shared_with_train:
                text, tags = sentence(i, "train")
                text = "  " + text.replace(" ", "   ") + " "
            else:
                text, tags = sentence(i, split)
            lines.append(f"{text}\t{tags}")
        (folder / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder = root / "MiniQA"
    folder.mkdir(parents=True, exist_ok=True)
    for split, sources in qa.items():
        rows = []
        for source, n in sources.items():
            for i in range(n):
                rows.append(
                    {
                        "id": f"{split}-{source}-{i}",
                        "source": source,
                        "question": f"Question {i} ({split}) from {source} about {WORDS[i % len(WORDS)]}?",
                        "answer": f"answer {i}",
                    }
                )
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def write_spec(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
