"""Prompt formats: how a row (instruction, input, output) becomes the text a model learns and continues.

Every layer that builds or reads a prompt goes through a :class:`PromptFormat` — the builder (the ``messages``
column), training (prompt and answer ids), evaluation (prompts, where answers end, stop tokens, the shared
instruction block), the export (the format is recorded) — so training and evaluation cannot drift apart.

* ``alpaca`` — the study's Alpaca layout (``### Instruction`` / ``### Input`` / ``### Output``), byte for byte the
  format MedTuned always used; the answer ends with EOS. The study used one whitespace variant at training time
  and another at evaluation time; MedTuned has exactly one.
* ``chat`` — the tokenizer's own chat template (``apply_chat_template``): instruction and input in one user turn,
  the answer as the assistant turn, ended by the template's end-of-turn token(s) (``<|im_end|>``, ``<|eot_id|>``…),
  which need not be EOS. The template text carries BOS and the other special tokens itself, so a chat prompt is
  encoded without the tokenizer adding its own. A template that injects a default system prompt when none is
  given (SmolLM2's does) keeps it — that is the format the model was tuned in — unless ``system_prompt`` is set;
  templates that print today's date get a fixed ``date_string`` so that a prompt never depends on the day.

Heavy libraries are never imported here: a format works on the tokenizer object it is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .errors import MedTunedError
from .io import read_json

ALPACA, CHAT, AUTO = "alpaca", "chat", "auto"
FORMATS = (ALPACA, CHAT)
# Written into an exported model folder: the format (and system prompt) it was trained with.
FORMAT_RECORD = "medtuned.json"
# What templates that print a date (Llama 3.1's ``Today Date``) get instead of the clock: their own fallback.
FIXED_DATE = "26 Jul 2024"

INSTRUCTION_HEADER = "### Instruction:\n"
INPUT_HEADER = "### Input:\n"
RESPONSE_HEADER = "### Output:\n"
# Generation stops when an Alpaca model starts a new block; decoders use this as a stop string.
BLOCK_START = "\n###"


def format_prompt(instruction: str, input: str = "") -> str:
    """The Alpaca prompt up to and including the response header; the model continues after it."""
    parts = [INSTRUCTION_HEADER + instruction.strip("\n")]
    if input:
        parts.append(INPUT_HEADER + input)
    parts.append(RESPONSE_HEADER)
    return "\n\n".join(parts)


def format_record(record: Mapping[str, str]) -> tuple[str, str]:
    """``(prompt, response)`` for an Alpaca row; the trainer appends EOS to the response."""
    return format_prompt(record["instruction"], record.get("input", "")), record["output"]


def user_content(instruction: str, input: str = "") -> str:
    """The user turn of a row: the instruction, a blank line, the input."""
    return instruction.strip("\n") + ("\n\n" + input if input else "")


def chat_messages(instruction: str, input: str = "", output: str | None = None, system_prompt: str | None = None) -> list[dict[str, str]]:
    """A row as chat messages (TRL's and axolotl's conversational form): [system], user, [assistant]."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt is not None else []
    messages.append({"role": "user", "content": user_content(instruction, input)})
    if output is not None:
        messages.append({"role": "assistant", "content": output})
    return messages


class PromptFormat(Protocol):
    name: str
    system_prompt: str | None
    add_special_tokens: bool  # whether the tokenizer adds its own special tokens (BOS) when encoding a prompt
    stop_strings: tuple[str, ...]  # text after which generation stops (cut from the answer by ``clean``)

    def prompt(self, instruction: str, input: str = "") -> str: ...

    def messages(self, instruction: str, input: str = "", output: str | None = None) -> list[dict[str, str]]: ...

    def end_ids(self, tokenizer: Any) -> list[int]: ...  # what ends an answer (empty: nothing can)

    def stop_token_ids(self, tokenizer: Any) -> list[int]: ...

    def clean(self, text: str) -> str: ...

    def instruction_block(self, prompt: str) -> str: ...

    def card(self) -> list[str]: ...


def encode_prompts(fmt: PromptFormat, tokenizer: Any, prompts: Sequence[str], **kwargs: Any) -> Any:
    """``tokenizer(prompts)`` as training encodes them: with the tokenizer's special tokens for Alpaca, without
    them for a chat template (whose text already holds BOS, so it is never doubled)."""
    return tokenizer(list(prompts), add_special_tokens=fmt.add_special_tokens, **kwargs)


def _eos(tokenizer: Any) -> list[int]:
    return [] if tokenizer.eos_token_id is None else [int(tokenizer.eos_token_id)]


class AlpacaFormat:
    """The study's format: ``### Instruction`` / ``### Input`` / ``### Output`` blocks, EOS after the answer."""

    name = ALPACA
    system_prompt = None
    add_special_tokens = True
    stop_strings = (BLOCK_START,)

    def prompt(self, instruction: str, input: str = "") -> str:
        return format_prompt(instruction, input)

    def messages(self, instruction: str, input: str = "", output: str | None = None) -> list[dict[str, str]]:
        return chat_messages(instruction, input, output)

    def end_ids(self, tokenizer: Any) -> list[int]:
        return _eos(tokenizer)

    def stop_token_ids(self, tokenizer: Any) -> list[int]:
        return _eos(tokenizer)

    def clean(self, text: str) -> str:
        """The answer without a following ``###`` block (generation includes the stop string)."""
        return text.split(BLOCK_START, 1)[0]

    def instruction_block(self, prompt: str) -> str:
        """The prompt up to and including the input header (empty when the prompt has no input)."""
        marker = "\n\n" + INPUT_HEADER
        at = prompt.find(marker)
        return "" if at < 0 else prompt[: at + len(marker)]

    def card(self) -> list[str]:
        return [
            "Alpaca format (`medtuned_core.prompt`, `--format alpaca`), shared by training and evaluation; every response ends with the EOS token.",
            "",
            "```",
            format_prompt("{instruction}", "{input}") + "{output}<eos>",
            "```",
        ]


# Probe contents that no template changes (no surrounding whitespace to trim).
_PROBE_USER, _PROBE_ANSWER = "MEDTUNEDPROBEUSER", "MEDTUNEDPROBEANSWER"


class ChatFormat:
    """The tokenizer's chat template. Without a tokenizer (a server that applies its own template) only the chat
    ``messages`` exist: the flat prompt is empty and nothing can be encoded here."""

    name = CHAT
    add_special_tokens = False

    def __init__(self, tokenizer: Any, system_prompt: str | None = None) -> None:
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.stop_strings: tuple[str, ...] = ()
        self._before_user = self._after_user = self._end_text = ""
        self._end_ids: tuple[Any, list[int]] | None = None  # (tokenizer, its end ids): backends ask for every request
        if tokenizer is None:
            return
        if not getattr(tokenizer, "chat_template", None):
            name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
            raise MedTunedError(f"{name}: the tokenizer has no chat template; use --format alpaca (or a model whose tokenizer has one)")
        probe = self.prompt(_PROBE_USER)
        full = self._render(chat_messages(_PROBE_USER, "", _PROBE_ANSWER, system_prompt), generation=False)
        if _PROBE_USER not in probe or not full.startswith(probe) or not full[len(probe) :].startswith(_PROBE_ANSWER):
            raise MedTunedError("the chat template does not render a conversation as its generation prompt followed by the answer; use --format alpaca")
        self._before_user, self._after_user = probe.split(_PROBE_USER, 1)
        # The end of turn: what the template writes after the answer, without trailing whitespace (the "\n" after
        # ChatML's <|im_end|> is the start of the next turn, not part of the answer). None at all: EOS.
        self._end_text = full[len(probe) + len(_PROBE_ANSWER) :].rstrip()
        if self._end_text and not self._special_end_ids(tokenizer):
            self.stop_strings = (self._end_text,)  # a plain-text end of turn: generation stops at the text

    def _render(self, messages: list[dict[str, str]], generation: bool) -> str:
        try:
            return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation, date_string=FIXED_DATE)
        except Exception as exc:  # noqa: BLE001 - a template error (jinja2.TemplateError, ...) is the user's to fix
            raise MedTunedError(f"the chat template failed: {exc}") from None

    def prompt(self, instruction: str, input: str = "") -> str:
        if self.tokenizer is None:
            return ""
        return self._render(chat_messages(instruction, input, None, self.system_prompt), generation=True)

    def messages(self, instruction: str, input: str = "", output: str | None = None) -> list[dict[str, str]]:
        return chat_messages(instruction, input, output, self.system_prompt)

    def _need_tokenizer(self) -> None:
        if self.tokenizer is None:
            raise MedTunedError("the chat format needs the model's tokenizer to encode prompts and answers")

    def end_ids(self, tokenizer: Any) -> list[int]:
        """The ids that end an answer: the template's end of turn (encoded alone), or EOS when it has none."""
        self._need_tokenizer()
        if not self._end_text:
            return _eos(tokenizer)
        if self._end_ids is None or self._end_ids[0] is not tokenizer:
            self._end_ids = (tokenizer, list(tokenizer(self._end_text, add_special_tokens=False)["input_ids"]))
        return list(self._end_ids[1])

    def _special_end_ids(self, tokenizer: Any) -> list[int]:
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        special |= {int(i) for i, token in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).items() if getattr(token, "special", False)}
        return [i for i in self.end_ids(tokenizer) if i in special]

    def stop_token_ids(self, tokenizer: Any) -> list[int]:
        return list(dict.fromkeys(self._special_end_ids(tokenizer) + _eos(tokenizer)))

    def clean(self, text: str) -> str:
        """The answer up to a plain-text end of turn (special end tokens are already gone from decoded text)."""
        return text.split(self._end_text, 1)[0] if self._end_text and self._end_text in text else text

    def instruction_block(self, prompt: str) -> str:
        """Everything before the row's input: the template's opening (system turn, user header) and the
        instruction with the blank line after it; empty when the prompt has no input."""
        if not self._before_user or not prompt.startswith(self._before_user) or not prompt.endswith(self._after_user):
            return ""
        start, end = len(self._before_user), len(prompt) - len(self._after_user)
        at = prompt.find("\n\n", start, end)
        return "" if at < 0 else prompt[: at + 2]

    def card(self) -> list[str]:
        lines = [
            "The tokenizer's chat template (`--format chat`, saved with the tokenizer): the instruction, a blank line and the input form the user turn;",
            "the answer is the assistant turn and ends with the template's end-of-turn token(s).",
        ]
        if self.system_prompt is not None:
            lines += ["", f"System prompt: `{self.system_prompt}`"]
        return lines


ALPACA_FORMAT = AlpacaFormat()


def make_format(name: str, tokenizer: Any = None, system_prompt: str | None = None) -> PromptFormat:
    """The format called ``name`` (``alpaca`` or ``chat``), bound to ``tokenizer`` for ``chat``."""
    if name == ALPACA:
        if system_prompt is not None:
            raise MedTunedError("a system prompt needs --format chat (the Alpaca format has no system turn)")
        return ALPACA_FORMAT
    if name == CHAT:
        return ChatFormat(tokenizer, system_prompt)
    raise MedTunedError(f"unknown prompt format {name!r}: choose one of {', '.join(FORMATS)}")


# -- the format a model was trained with --------------------------------------------------------


def write_format_record(folder: Path, fmt: PromptFormat, **extra: Any) -> None:
    """Record in an exported model folder the format it was trained with (read back by ``recorded_format``)."""
    from .jsonl import atomic_writer

    with atomic_writer(Path(folder) / FORMAT_RECORD) as fh:
        json.dump({"format": fmt.name, "system_prompt": fmt.system_prompt, **extra}, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def recorded_format(folder: str | Path | None) -> dict[str, Any] | None:
    """``{"format", "system_prompt"}`` of a MedTuned export, else None. An export made before formats were
    recorded (its model card has the ``medtuned`` tag) was trained in Alpaca, the only format then."""
    if folder is None or not Path(folder).is_dir():
        return None
    path = Path(folder) / FORMAT_RECORD
    if path.is_file():
        record = read_json(path)
        if not isinstance(record, dict) or record.get("format") not in FORMATS:
            raise MedTunedError(f'{path}: expected {{"format": one of {", ".join(FORMATS)}, ...}}')
        return record
    card = Path(folder) / "README.md"
    if card.is_file() and "\n- medtuned\n" in card.read_text(encoding="utf-8", errors="replace").split("\n---", 1)[0] + "\n":
        return {"format": ALPACA, "system_prompt": None}
    return None


def choose_format(requested: str, tokenizer: Any, recorded: Mapping[str, Any] | None) -> str:
    """``--format auto``: the format a MedTuned export records; for any other model ``chat`` when its tokenizer has a
    chat template (or there is no local tokenizer: a server applies its own), else ``alpaca``."""
    if requested != AUTO:
        if requested not in FORMATS:
            raise MedTunedError(f"unknown prompt format {requested!r}: choose one of {AUTO}, {', '.join(FORMATS)}")
        return requested
    if recorded is not None:
        return str(recorded["format"])
    if tokenizer is None or getattr(tokenizer, "chat_template", None):
        return CHAT
    return ALPACA


def format_for_model(model: Any, requested: str = AUTO, system_prompt: str | None = None) -> PromptFormat:
    """The prompt format to evaluate ``model`` in (a folder, hub id or alias, a ``(model, tokenizer)`` pair, or a
    backend with ``tokenizer``/``model_name``); an export's recorded system prompt comes with its format."""
    tokenizer, folder = _tokenizer_and_folder(model)
    recorded = recorded_format(folder)
    name = choose_format(requested, tokenizer, recorded)
    if system_prompt is None and recorded is not None and recorded["format"] == name:
        system_prompt = recorded.get("system_prompt")
    return make_format(name, tokenizer, system_prompt)


def bind_format(fmt: PromptFormat, backend: Any) -> PromptFormat:
    """``fmt`` bound to the backend's tokenizer when it was chosen before one was at hand (a hub id not yet
    downloaded): a chat format needs the tokenizer to render prompts."""
    tokenizer = getattr(backend, "tokenizer", None)
    if isinstance(fmt, ChatFormat) and fmt.tokenizer is None and tokenizer is not None:
        return ChatFormat(tokenizer, fmt.system_prompt)
    return fmt


def _tokenizer_and_folder(model: Any) -> tuple[Any, str | None]:
    if isinstance(model, str):
        from .models import load_tokenizer, resolve_model

        path = resolve_model(model)
        if Path(path).is_dir():
            return load_tokenizer(path), path
        # A hub id already in the local cache, else a name only a server knows: no local tokenizer. (A backend that
        # downloads the model is asked after it has loaded: pass the backend.)
        try:
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(path, local_files_only=True), None
        except Exception:  # noqa: BLE001 - not cached, or transformers absent
            return None, None
    if isinstance(model, tuple):
        first, tokenizer = model
        name = str(getattr(getattr(first, "config", None), "name_or_path", "") or "")
        return tokenizer, name if name and Path(name).is_dir() else None
    name = str(getattr(model, "model_name", "") or "")
    return getattr(model, "tokenizer", None), name if name and Path(name).is_dir() else None
