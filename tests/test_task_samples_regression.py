"""A guard over our RE, NLI, CLS and QA tasks on their shipped samples: every split renders to the same bytes and
seeded perturbed predictions score the same as recorded in tests/fixtures/task_samples_regression.json.

The render digests were recorded before these packages were rebuilt on the labels and text kits, so they
prove the rebuild changed no render. Scores: the same perturbed predictions, parsed and scored through the
hooks (MedQA's were recorded after its parser learned "The answer is: B" and 'The answer is "C"').
Regenerate after an intended change: ``python tests/test_task_samples_regression.py`` (and say why in the commit).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from medtuned_core.plugins import make_registry
from medtuned_core.render import render_split
from medtuned_core.scoring import score_rows

EXPECTED = Path(__file__).parent / "fixtures" / "task_samples_regression.json"
PACKAGES = ("medtuned_tasks_re", "medtuned_tasks_nli", "medtuned_tasks_cls", "medtuned_tasks_qa")
VARIANTS = {"gad": [{"fold": 1}, {"fold": 2}, {"fold": 3}], "pubmedqa": [{}, {"fold": 3}], "pmc-llama": [{}, {"sources": "medqa_train,umls"}]}
STYLES = ["{}", "{l}", "The answer is {}.", "The answer is: {}", 'The answer is "{}".', "**{}**", "{}, because the text says so.", "I cannot tell.", ""]
MEDQA_STYLES = [
    "{L}. {t}",
    "{L}",
    "The answer is: {L}.",
    'The answer is "{L}"',
    "({L})",
    "**{L}. {t}**",
    "Answer: {l}",
    "{t}",
    "The answer is {t}.",
    "Not sure.",
]


def _registry():
    plugins = [pytest.importorskip(name).plugin for name in PACKAGES]
    return make_registry(plugins, autoload=False)


def _prediction(task: str, row: dict, rows: list[dict], i: int, rng: random.Random) -> str:
    gold, choices = row["output"], row.get("choices") or []
    if task == "medqa":
        options = dict(line.split(". ", 1) for line in choices)
        letter = gold[0] if rng.random() < 0.6 else rng.choice(sorted(options))
        return rng.choice(MEDQA_STYLES).format(L=letter, l=letter.lower(), t=options[letter])
    if task in ("chatdoctor", "pmc-llama"):
        words = gold.split()
        return rng.choice([gold, rows[(i + 1) % len(rows)]["output"], " ".join(words[: max(1, len(words) // 2)]), ""])
    label = gold if rng.random() < 0.6 or not choices else rng.choice(choices)
    return rng.choice(STYLES).format(label, l=label.lower())


def snapshot() -> dict[str, dict]:
    registry = _registry()
    out = {}
    for name in sorted(registry.tasks):
        task = registry.get(name)
        for options in VARIANTS.get(name, [{}]):
            for split in task.splits:
                rows = list(render_split(registry, task, task.sample_data, split, options=options))
                data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
                rng = random.Random(f"13-{name}-{split}")
                preds = [_prediction(name, r, rows, i, rng) for i, r in enumerate(rows)]
                scored = score_rows(
                    registry,
                    [{"task": name, "id": r["id"], "input": r["input"], "reference": r["output"], "prediction": p} for r, p in zip(rows, preds, strict=True)],
                )[name]
                key = f"{name}/{split}" + "".join(f"/{k}={v}" for k, v in options.items())
                out[key] = {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest(), "score": scored["score"], "unparsed": scored["unparsed"]}
    return out


def test_sample_renders_and_perturbed_scores_are_unchanged():
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    got = snapshot()
    assert set(got) == set(expected)
    for key, want in expected.items():
        assert got[key] == want, key


if __name__ == "__main__":
    EXPECTED.write_text(json.dumps(snapshot(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
