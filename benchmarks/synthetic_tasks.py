"""Invented tasks of every evaluation shape, for benchmarks/bench_perf.py (nothing here comes from a corpus).

- ``synth-untyped``: BIO tagging (3 labels), ``token : label`` lines, like NCBI-disease;
- ``synth-typed``: IOBES tagging over 16 entity types (65 labels, most of them several tokens long);
- ``synth-label``: one label out of four per sentence (the coarse type of its first entity), like GAD or HoC;
- ``synth-choice``: multiple choice, ``A. word`` … ``D. word`` (which word names a given type), like MedQA.

Sentences mix filler words with entity mentions of one to three invented words drawn from a per-type
lexicon, so a small model can learn the tasks in a minute and a zero-shot one cannot.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from medtuned_core import Parsed, TaskInfo, hookimpl

TYPES = ("drug", "dose", "route", "organ", "finding", "test", "gene", "protein", "cell", "species", "device", "procedure", "symptom", "anatomy", "lab", "time")
GROUPS = {"chemical": TYPES[0:3], "body": TYPES[3:6] + TYPES[13:14], "molecule": TYPES[6:10], "clinical": TYPES[10:13] + TYPES[14:]}
TYPED_LABELS = ("O", *(f"{p}-{t}" for t in TYPES for p in "BIES"))
UNTYPED_LABELS = ("B", "I", "O")
FILLER = "the a of with was and in on after before no signs noted patient seen given found into from while then at per".split()
SYLLABLES = "ka lo mi ne ru sa ti vo ze qu br pl st gr fen dol mab zin xo ly".split()
FOLDER = "SyntheticTasks"


def _lexicon(seed: int = 11) -> dict[str, list[str]]:
    rng = random.Random(seed)
    return {t: ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(8)] for t in TYPES}


LEXICON = _lexicon()


def sentence(rng: random.Random, min_words: int = 6, max_words: int = 24) -> list[tuple[str, str]]:
    """``(word, IOBES tag)`` pairs."""
    out: list[tuple[str, str]] = []
    target = rng.randint(min_words, max_words)
    while len(out) < target:
        if rng.random() < 0.3:
            kind = rng.choice(TYPES)
            words = [rng.choice(LEXICON[kind]) for _ in range(rng.choice((1, 1, 2, 3)))]
            if len(words) == 1:
                out.append((words[0], f"S-{kind}"))
            else:
                out += [(w, f"{'B' if i == 0 else 'E' if i == len(words) - 1 else 'I'}-{kind}") for i, w in enumerate(words)]
        else:
            out.append((rng.choice(FILLER), "O"))
    return out


def to_bio(tag: str) -> str:
    return "O" if tag == "O" else ("B" if tag[0] in "BS" else "I")


def spans(tags: list[str], typed: bool) -> set[tuple[int, int, str]]:
    """Entity spans ``(start, end, type)`` of IOBES (typed) or BIO (untyped) tags; ill-formed runs count as spans too."""
    out, start, kind = set(), None, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        begins = prefix in ("B", "S") or (prefix in ("I", "E") and (start is None or name != kind))
        if start is not None and (prefix == "O" or begins):
            out.add((start, i, kind))
            start = None
        if begins:
            start, kind = i, name
        if start is not None and prefix in ("E", "S") and typed:
            out.add((start, i + 1, kind))
            start = None
    return out


def examples(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        pairs = sentence(rng)
        words = [w for w, _ in pairs]
        entities = [(w, t[2:]) for w, t in pairs if t[0] in "BS"]
        first_type = entities[0][1] if entities else "drug"
        group = next(g for g, members in GROUPS.items() if first_type in members)
        # A multiple-choice question: which word names an entity of this type (three distractors from other types).
        kind = rng.choice(TYPES)
        answer = rng.choice(LEXICON[kind])
        options = [answer] + rng.sample([w for t in TYPES if t != kind for w in LEXICON[t]], 3)
        rng.shuffle(options)
        rows.append({"id": str(i), "tokens": words, "tags": [t for _, t in pairs], "group": group, "kind": kind, "options": options, "answer": answer})
    return rows


def write_corpus(root: Path, n_test: int, n_train: int = 0, seed: int = 0) -> Path:
    """``root/SyntheticTasks/{test,train}.jsonl`` (a JSON row per sentence)."""
    import json

    folder = root / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, s in (("test", n_test, seed), ("train", n_train, seed + 1000)):
        if n:
            (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in examples(n, s)), encoding="utf-8")
    return root


def _task(name: str, description: str, metric: str, template: str) -> TaskInfo:
    return TaskInfo(
        name=name,
        family="ner" if "typed" in name else "cls",
        description=description,
        metric=metric,
        splits=("train", "test"),
        data_folder=FOLDER,
        templates=(template,),
        citation="none (invented benchmark data)",
        license="CC0-1.0",
    )


TASKS = {
    "synth-untyped": _task(
        "synth-untyped", "Invented BIO tagging", "f1", "Tag every token: B starts an entity, I continues it, O is outside. One `token : tag` line per token."
    ),
    "synth-typed": _task(
        "synth-typed",
        "Invented IOBES tagging over 16 types (65 labels)",
        "f1",
        "Tag every token with IOBES tags and the entity type (" + ", ".join(TYPES) + "), O outside. One `token : tag` line per token.",
    ),
    "synth-label": _task(
        "synth-label", "Invented single-label classification", "accuracy", "Which group does the first entity of the sentence belong to? Answer with one word."
    ),
    "synth-choice": _task("synth-choice", "Invented multiple choice", "accuracy", "Answer with the letter and the word of the right option."),
}


class SyntheticPlugin:
    """A task plugin for the four invented tasks (register with ``make_registry([SyntheticPlugin()])``)."""

    @hookimpl
    def medtuned_register_tasks(self):
        return list(TASKS.values())

    @hookimpl
    def medtuned_load_corpus(self, task, data_dir, split, options):
        import json

        if task.name not in TASKS:
            return None
        path = Path(data_dir) / FOLDER / f"{split}.jsonl"
        return (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())

    @hookimpl
    def medtuned_render_instruction(self, task, example, instruction):
        if task.name not in TASKS:
            return None
        words = example["tokens"]
        if task.name in ("synth-untyped", "synth-typed"):
            typed = task.name == "synth-typed"
            tags = example["tags"] if typed else [to_bio(t) for t in example["tags"]]
            labels = TYPED_LABELS if typed else UNTYPED_LABELS
            return {
                "input": " ".join(words),
                "output": "\n".join(f"{w} : {t}" for w, t in zip(words, tags, strict=True)),
                "tagging": {"tokens": words, "labels": list(labels), "line": "{token} : {label}", "sep": "\n"},
            }
        if task.name == "synth-label":
            return {"input": " ".join(words), "output": example["group"], "choices": list(GROUPS)}
        lines = [f"{letter}. {word}" for letter, word in zip("ABCD", example["options"], strict=True)]
        answer = lines[example["options"].index(example["answer"])]
        return {"input": f"Which word names a {example['kind']}?\n" + "\n".join(lines), "output": answer, "choices": lines}

    @hookimpl
    def medtuned_parse_output(self, task, text, input, reference):
        if task.name not in TASKS:
            return None
        if task.name in ("synth-untyped", "synth-typed"):
            labels = set(TYPED_LABELS if task.name == "synth-typed" else UNTYPED_LABELS)
            n = len(input.split())
            tags = []
            for line in text.strip().splitlines():
                tag = line.rpartition(" : ")[2].strip()
                tags.append(tag if tag in labels else "O")
            ok = len(tags) == n
            return Parsed((tags + ["O"] * n)[:n], ok=ok)
        answer = text.strip().splitlines()[0].strip() if text.strip() else ""
        return Parsed(answer, ok=bool(answer))

    @hookimpl
    def medtuned_score(self, task, golds, preds, rows):
        if task.name not in TASKS:
            return None
        if task.name in ("synth-label", "synth-choice"):
            right = sum(p.ok and p.value == g.value for g, p in zip(golds, preds, strict=True))
            return {"metric": "accuracy", "score": right / len(golds) if golds else 0.0}
        typed = task.name == "synth-typed"
        tp = fp = fn = 0
        for g, p in zip(golds, preds, strict=True):
            gold, pred = spans(g.value, typed), spans(p.value if p.ok else [], typed)
            tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return {"metric": "f1", "score": f1}
