"""Examples -> ``{"input", "output"}`` (+ ``choices`` for the closed-answer tasks).

Output forms (part of the contract; the parsers read them back):
- medqa: ``"D. <option text>"`` — letter and text, so a generated answer can be checked either way;
- pubmedqa: ``"yes"``, ``"no"`` or ``"maybe"``;
- chatdoctor and pmc-llama: the corpus's own answer text.
"""

from __future__ import annotations

from typing import Any

from .tasks import PUBMEDQA_LABELS


def medqa_option_line(letter: str, text: str) -> str:
    """One option on one line (line breaks inside an option would split it when read back)."""
    return f"{letter}. {' '.join(text.split())}"


def render_medqa(example: dict[str, Any]) -> dict[str, Any]:
    options = example["options"]
    lines = [medqa_option_line(letter, text) for letter, text in options.items()]
    return {
        "input": example["question"].strip() + "\n\n" + "\n".join(lines),
        "output": medqa_option_line(example["answer_idx"], options[example["answer_idx"]]),
        "choices": lines,
    }


def render_pubmedqa(example: dict[str, Any]) -> dict[str, Any]:
    labels = example.get("context_labels") or [None] * len(example["contexts"])
    # The abstract's conclusion (LONG_ANSWER) is left out: it states the answer.
    context = "\n".join(f"{label}: {text.strip()}" if label else text.strip() for label, text in zip(labels, example["contexts"], strict=True))
    return {
        "input": f"Question: {example['question'].strip()}\n\nContext:\n{context}",
        "output": example["answer"],
        "choices": list(PUBMEDQA_LABELS),
    }


def render_chatdoctor(example: dict[str, Any]) -> dict[str, Any]:
    return {"input": example["input"].strip(), "output": example["output"].strip()}


def render_pmc_llama(example: dict[str, Any]) -> dict[str, Any]:
    """The row's own request heads the input: it carries the answer form (direct option, rationale, ...)."""
    parts = [example["instruction"].strip(), example["input"].strip()]
    return {"input": "\n\n".join(p for p in parts if p), "output": example["output"].strip()}
