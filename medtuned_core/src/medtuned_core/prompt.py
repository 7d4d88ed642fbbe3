"""The one prompt format, shared by training and evaluation.

The study (Llama2-MedTuned) used Alpaca-style blocks but different whitespace at training time
(``### Instruction: {i}\\n ### Input: ...``) and at evaluation time (``### Instruction:\\n{i}\\n\\n...``).
A model scored with a prompt it never saw during training loses accuracy for no reason, so MedTuned
has exactly one format and both sides import it from here.
"""

from __future__ import annotations

from collections.abc import Mapping

INSTRUCTION_HEADER = "### Instruction:\n"
INPUT_HEADER = "### Input:\n"
RESPONSE_HEADER = "### Output:\n"
# Generation stops when the model starts a new block; decoders use this as a stop string.
BLOCK_START = "\n###"


def format_prompt(instruction: str, input: str = "") -> str:
    """The prompt up to and including the response header; the model continues after it."""
    parts = [INSTRUCTION_HEADER + instruction.strip("\n")]
    if input:
        parts.append(INPUT_HEADER + input)
    parts.append(RESPONSE_HEADER)
    return "\n\n".join(parts)


def format_record(record: Mapping[str, str]) -> tuple[str, str]:
    """``(prompt, response)`` for an Alpaca row; the trainer appends EOS to the response."""
    return format_prompt(record["instruction"], record.get("input", "")), record["output"]


def strip_prompt_echo(text: str) -> str:
    """Drop an echoed prompt: keep what follows the last response header, if any."""
    marker = RESPONSE_HEADER.rstrip("\n")
    return text.rsplit(marker, 1)[1].lstrip("\n") if marker in text else text
