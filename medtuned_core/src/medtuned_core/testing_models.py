"""Tiny models and build-output folders for tests (training and evaluation), made offline in a second or two.

- :func:`tiny_tokenizer` trains a byte-level BPE tokenizer with ``tokenizers`` (no download); every string round-trips.
  ``chat=True`` gives it a small chat template in the manner of today's instruct models (:data:`TINY_CHAT_TEMPLATE`).
- :func:`build_tiny_model` writes a randomly initialised Llama (hidden 64, 2 layers by default) plus that tokenizer
  into a folder that ``from_pretrained`` and :func:`medtuned_core.models.load_model_and_tokenizer` accept.
- :func:`tiny_rows` / :func:`write_build_output` produce a ``medtuned build``-style folder: ``train.jsonl``
  (Alpaca rows with ``task``, ``template_id``, ``id``), optional ``validation.jsonl``, ``manifest.json``.

All text here is invented. Requires the ``train`` extra (torch, transformers, tokenizers).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .jsonl import atomic_writer, write_jsonl
from .prompt import format_prompt

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>")
CHAT_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>", "<|end|>")
# Like the templates of today's instruct models: BOS written by the template itself (a tokenizer that also adds it
# would double it), a default system prompt injected when none is given (as SmolLM2's), and an end-of-turn token
# that is not EOS, followed by a newline (as ChatML's ``<|im_end|>\n``).
TINY_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if loop.first and m['role'] != 'system' %}<|system|>\nYou are a tiny test model.<|end|>\n{% endif %}"
    "<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

# Invented vocabulary for the toy tasks: a tagging task, a yes/no task and a short-answer task.
_WORDS = "aspirin fever cough patient dose daily nausea insulin glucose tumour biopsy scan renal cardiac liver mild severe acute chronic".split()
_FILLER = "the a of with was and in on after before no signs noted".split()
TOY_TASKS = ("toy_tagging", "toy_yesno", "toy_answer")


def _toy_sentence(rng: random.Random, n_words: int) -> list[str]:
    return [rng.choice(_WORDS) if rng.random() < 0.5 else rng.choice(_FILLER) for _ in range(n_words)]


def tiny_rows(
    n: int, *, seed: int = 0, split: str = "train", tasks: Iterable[str] = TOY_TASKS, min_words: int = 3, max_words: int = 30
) -> list[dict[str, Any]]:
    """``n`` Alpaca rows over the toy tasks; lengths vary (tagging rows are the long ones, like NER in the real mix)."""
    rng = random.Random(f"{seed}:{split}")
    tasks = tuple(tasks)
    rows = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        words = _toy_sentence(rng, rng.randint(min_words, max_words))
        if task == "toy_tagging":
            instruction = "Tag every word: D for a drug or finding word, O otherwise."
            output = "\n".join(f"{w} : {'D' if w in _WORDS else 'O'}" for w in words)
        elif task == "toy_yesno":
            instruction = "Does the note mention a drug or finding? Answer yes or no."
            output = "yes" if any(w in _WORDS for w in words) else "no"
        else:
            instruction = "Name the first drug or finding word in the note, or none."
            output = next((w for w in words if w in _WORDS), "none")
        rows.append(
            {"instruction": instruction, "input": " ".join(words), "output": output, "task": task, "template_id": "builtin:0", "id": f"{task}-{split}-{i}"}
        )
    return rows


def tokenizer_corpus() -> list[str]:
    """Text to train the tiny tokenizer: the prompt format and the toy tasks."""
    rows = tiny_rows(60, seed=123)
    return [format_prompt(r["instruction"], r["input"]) + r["output"] for r in rows] + [" ".join(_WORDS + _FILLER)]


def tiny_tokenizer(corpus: Iterable[str] | None = None, *, vocab_size: int = 384, chat: bool = False):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with ``<s>``, ``</s>``, ``<pad>`` and ``<unk>``.

    ``chat``: also the turn tokens (appended, so every other id stays the same), :data:`TINY_CHAT_TEMPLATE`, and BOS
    added on encoding (``add_special_tokens=True``), as Llama tokenizers do."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(list(corpus if corpus is not None else tokenizer_corpus()), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    if chat:
        tokenizer.add_special_tokens({"additional_special_tokens": list(CHAT_TOKENS)})
        tokenizer.chat_template = TINY_CHAT_TEMPLATE
        bos = ("<s>", tokenizer.bos_token_id)
        tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[bos])
    return tokenizer


def tiny_llama(
    tokenizer,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int = 128,
    max_position_embeddings: int = 1024,
    seed: int = 0,
    weight_std: float | None = None,
):
    """A randomly initialised ``LlamaForCausalLM`` sized for ``tokenizer``. With the default initialisation a tiny
    model repeats its last prompt token; ``weight_std`` (e.g. 0.1) redraws every matrix so greedy answers vary."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if weight_std is not None:
        with torch.no_grad():
            for param in model.parameters():
                if param.dim() == 2:
                    param.normal_(0.0, weight_std)
    return model


def build_tiny_model(folder: str | Path, *, chat: bool = False, **model_kwargs: Any) -> Path:
    """Write a tiny Llama and its tokenizer (``chat``: with a chat template) to ``folder`` (created); returns the folder."""
    folder = Path(folder)
    tokenizer = tiny_tokenizer(chat=chat)
    model = tiny_llama(tokenizer, **model_kwargs)
    model.generation_config.max_new_tokens = 32
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_build_output(
    folder: str | Path,
    *,
    n_train: int = 24,
    n_validation: int = 0,
    seed: int = 0,
    rows: list[dict[str, Any]] | None = None,
    manifest: dict[str, Any] | None = None,
) -> Path:
    """A ``medtuned build``-style output folder with toy rows (or the ``rows`` given as train rows)."""
    folder = Path(folder)
    train = rows if rows is not None else tiny_rows(n_train, seed=seed, split="train")
    write_jsonl(folder / "train.jsonl", train)
    if n_validation:
        write_jsonl(folder / "validation.jsonl", tiny_rows(n_validation, seed=seed, split="validation"))
    counts: dict[str, int] = {}
    for row in train:
        counts[row["task"]] = counts.get(row["task"], 0) + 1
    info = manifest or {
        "seed": seed,
        "splits": {"train": len(train), **({"validation": n_validation} if n_validation else {})},
        "tasks": {name: {"rows": {"train": count}, "license": "CC0-1.0 (invented test data)"} for name, count in counts.items()},
    }
    with atomic_writer(folder / "manifest.json") as fh:
        json.dump(info, fh, indent=2)
    return folder


def sample_data_root(folder: str | Path, tasks: Iterable[str], registry: Any = None) -> Path:
    """One data root holding the shipped sample folders (``TaskInfo.sample_data``) of ``tasks``, for a
    ``--data-dir`` that spans task packages."""
    import shutil

    from .plugins import get_registry

    folder = Path(folder)
    registry = registry or get_registry()
    for name in tasks:
        info = registry.get(name)
        if not (folder / info.data_folder).exists():
            shutil.copytree(Path(info.sample_data) / info.data_folder, folder / info.data_folder)
    return folder
