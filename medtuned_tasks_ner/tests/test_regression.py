"""Nothing changed when the six tasks moved onto the core's tagging kit: every split of every task, rendered from the
shipped samples, hashes to what the package rendered before the move, and seeded perturbed predictions score to the
same figures, digit for digit (golden/samples.json was recorded with the pre-kit package)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows
from medtuned_tasks_ner.tasks import BY_NAME

GOLDEN = json.loads((Path(__file__).parent / "golden" / "samples.json").read_text(encoding="utf-8"))


def perturb(rng: random.Random, output: str, typed: bool) -> str:
    """One of 16 seeded corruptions of a gold answer (the recording script's, unchanged)."""
    lines = output.split("\n")
    kind = rng.randrange(16)
    out = list(lines)
    tags = ["O", "B", "I"] if not typed else ["O", "B-PROBLEM", "I-PROBLEM", "B-TEST", "I-TREATMENT"]
    split = [line.rpartition(" : ") for line in out]
    if kind == 1:
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(out))
            out[k] = f"{out[k].rpartition(' : ')[0]} : {rng.choice(tags)}"
    elif kind == 2 and len(out) > 1:
        del out[rng.randrange(len(out))]
    elif kind == 3:
        out.insert(rng.randrange(len(out) + 1), "extra : B")
    elif kind == 4:
        out = ["- " + line for line in out]
    elif kind == 5:
        out = [f"{i + 1}. " + line for i, line in enumerate(out)]
    elif kind == 6:
        out = [line.replace(" : ", ": ") for line in out]
    elif kind == 7 and len(out) > 2:
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    elif kind == 8:
        out = ["Here are the labels:", *out, "Hope this helps."]
    elif kind == 9:
        out = out[: max(1, len(out) // 2)]
    elif kind == 10:
        out = [f"{tok} : {tag.lower()}" for tok, _, tag in split]
    elif kind == 11:
        out = [f"{tok} ({tag})" for tok, _, tag in split]
    elif kind == 12:
        return " ".join(f"{tok}/{tag}" for tok, _, tag in split)
    elif kind == 13:
        return ""
    elif kind == 14:
        out = ["* " + line for line in out]
    elif kind == 15:
        out = [f"{tok} : " + (f"{tag}-Disease" if tag != "O" else "O") for tok, _, tag in split]
    return "\n".join(out)


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_renders_and_scores_are_what_they_were(registry, samples, key):
    name, split = key.split("/")
    task = registry.get(name)
    rows = list(render_split(registry, task, samples, split, seed=0))
    rows7 = list(render_split(registry, task, samples, split, seed=7, limit=50))
    rendered = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows + rows7).encode("utf-8")
    assert len(rows) == GOLDEN[key]["rows"]
    assert hashlib.sha256(rendered).hexdigest() == GOLDEN[key]["render_sha256"], f"{key}: the render changed"
    rng = random.Random(f"samples/{name}/{split}")
    typed = name == "i2b2-2012"
    predictions = [{"task": name, "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": perturb(rng, r["output"], typed)} for r in rows]
    scored = score_rows(registry, predictions)[name]
    assert {k: scored.get(k) for k in GOLDEN[key]["score"]} == GOLDEN[key]["score"]  # keys added later are not compared
    assert name in BY_NAME
