"""``medtuned export lm-eval``: MedTuned tasks as lm-evaluation-harness tasks (run with ``--include_path DIR``).

For each task, ``DIR`` gets ``medtuned_<task>.jsonl`` — the rendered rows of one split (the same fixed sample
``medtuned evaluate --limit N --seed S`` takes), each with its prompt already in the chosen prompt format — and
``medtuned_<task>.yaml``, which loads that file with the ``json`` builder of ``datasets`` (no hub, no MedTuned
corpus reader). ``utils.py`` points lm-eval at :mod:`medtuned_core.lm_eval_hooks`, so answers are scored by the
task's own parse and score hooks.

* A task whose rows all carry ``choices`` with the gold answer among them (GAD, MedNLI, MedQA, PubMedQA...) is
  ``output_type: multiple_choice``: lm-eval ranks the choices by log-likelihood (``acc``), exactly MedTuned's
  ``--choice-scoring loglik`` (docs/evaluation.md, "lm-eval").
* Every other task (tagging, label sets whose gold may lie outside the listed choices as HoC's, free text), and
  every task with ``mode="generate"``, is ``generate_until``, stopping where the prompt format ends an answer.

lm-eval passes ``dataset_kwargs`` to ``datasets.load_dataset`` unchanged, which resolves a relative
``data_files`` path against the working directory, not the YAML file: the YAML names its data file by absolute
path, so lm-eval runs from anywhere, and a moved folder is exported again.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .corpus import require_data_dir
from .errors import MedTunedError
from .jsonl import atomic_writer, write_jsonl
from .lm_eval_hooks import metric_key
from .plugins import Registry, get_registry
from .prompt import ALPACA, AUTO, CHAT, PromptFormat, choose_format, make_format
from .render import load_templates, render_split, sample_rows
from .types import TaskInfo

INSTALL = "pip install 'medtuned-core[lm-eval]'"
MODES = ("score", "generate")
MULTIPLE_CHOICE, GENERATE_UNTIL = "multiple_choice", "generate_until"
TAG = "medtuned"  # every exported task carries it: `lm_eval --tasks medtuned` runs them all
UTILS = "utils.py"
UTILS_HEADER = "# Written by `medtuned export lm-eval`"
UTILS_TEXT = f'''{UTILS_HEADER}: lm-eval calls these on the medtuned_*.yaml tasks beside it.
"""Answers are scored by MedTuned's own parse and score hooks (medtuned_core.lm_eval_hooks)."""

from medtuned_core.lm_eval_hooks import aggregate, process_choice, process_generation, unparsed  # noqa: F401
'''


def require_lm_eval() -> None:
    """lm-eval is an optional extra: one line saying how to install it when it is absent."""
    if importlib.util.find_spec("lm_eval") is None or importlib.util.find_spec("yaml") is None:
        raise MedTunedError(f"lm-eval is not installed: {INSTALL}")


@dataclass
class ExportedTask:
    """One task written for lm-eval."""

    task: str  # the MedTuned task
    name: str  # the lm-eval task name
    output_type: str
    docs: int
    metrics: list[str]
    max_gen_toks: int | None
    yaml_path: Path
    data_path: Path
    reason: str = ""  # why a task with choices is generated


def lm_eval_name(task: str) -> str:
    return "medtuned_" + task.replace("-", "_")


class Function(str):
    """A ``!function module.name`` reference in lm-eval's YAML."""


def _yaml_text(config: Mapping[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))
    Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if "\n" in value else None))
    return yaml.dump(dict(config), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=1000)


def _tokenizer(fmt: PromptFormat, model: Any) -> Any:
    tokenizer = getattr(fmt, "tokenizer", None)
    if tokenizer is None and model is not None:
        from .models import load_tokenizer

        tokenizer = load_tokenizer(str(model))
    return tokenizer


class _TokenCounter:
    """Just enough of a backend for ``make_requests`` to give each row MedTuned's generation budget."""

    capabilities = frozenset({"generate"})

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]] if texts else []


def stop_strings(fmt: PromptFormat, tokenizer: Any) -> list[str]:
    """Where a generated answer ends, as text (lm-eval stops on strings and adds the EOS text itself): Alpaca's
    ``\\n###``; a chat template's end of turn."""
    until = list(fmt.stop_strings)
    if fmt.name == CHAT and tokenizer is not None:
        end = tokenizer.decode(fmt.end_ids(tokenizer), skip_special_tokens=False)
        if end and end not in until:
            until.append(end)
    return until


def _budget(task: TaskInfo, rows: Sequence[dict[str, Any]], fmt: PromptFormat, tokenizer: Any, cap: int) -> int:
    """lm-eval takes one budget per task: the largest MedTuned gives a row of it in generate mode (with the
    model's tokenizer at hand), else ``cap``."""
    if tokenizer is None:
        return cap
    from .evaluate.runner import make_requests

    return max(r.max_new_tokens for r in make_requests(_TokenCounter(tokenizer), rows, "generate", cap, floor=task.max_new_tokens, fmt=fmt))


def _choice_kind(rows: Sequence[dict[str, Any]], mode: str) -> tuple[str, str]:
    if mode == "generate":
        return GENERATE_UNTIL, "--mode generate"
    if not all(isinstance(r.get("choices"), list) and r["choices"] for r in rows):
        return GENERATE_UNTIL, ""
    outside = sum(r["output"] not in r["choices"] for r in rows)
    if outside:
        return GENERATE_UNTIL, f"{outside} of {len(rows)} gold answers are not among the listed choices"
    return MULTIPLE_CHOICE, ""


def _document(row: Mapping[str, Any], fmt: PromptFormat, kind: str) -> dict[str, Any]:
    doc = {
        "id": str(row["id"]),
        "task": row["task"],
        "template_id": row.get("template_id", ""),
        "input": row["input"],
        "prompt": fmt.prompt(row["instruction"], row["input"]),
        "reference": row["output"],
    }
    if kind == MULTIPLE_CHOICE:
        doc["choices"] = list(row["choices"])
        doc["gold"] = doc["choices"].index(row["output"])
    return doc


def _task_config(name: str, info: TaskInfo, data_path: Path, kind: str, until: list[str], max_gen_toks: int, meta: dict[str, Any]) -> dict[str, Any]:
    key = metric_key(info.metric)
    config: dict[str, Any] = {
        "task": name,
        "tag": [TAG],
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_path.resolve())}},
        "test_split": "test",
        "output_type": kind,
        "doc_to_text": "prompt",
    }
    if kind == MULTIPLE_CHOICE:
        # The choice follows the prompt directly, as MedTuned scores it (lm-eval's default puts a space between).
        config |= {"doc_to_choice": "choices", "doc_to_target": "gold", "target_delimiter": "", "process_results": Function("utils.process_choice")}
        metrics = [("acc", "mean", True), ("acc_norm", "mean", True), (key, Function("utils.aggregate"), True)]
    else:
        config |= {
            "doc_to_target": "reference",
            "generation_kwargs": {"until": until, "do_sample": False, "max_gen_toks": max_gen_toks},
            "process_results": Function("utils.process_generation"),
        }
        metrics = [(key, Function("utils.aggregate"), True), ("unparsed", Function("utils.unparsed"), False)]
    config["metric_list"] = [{"metric": m, "aggregation": agg, "higher_is_better": hib} for m, agg, hib in metrics]
    config["metadata"] = {"version": 1.0, "medtuned": meta}
    return config


def export_lm_eval(
    tasks: str | Sequence[str],
    out: str | Path,
    data_dir: str | Path | None,
    split: str = "test",
    *,
    prompt_format: str = AUTO,
    model: str | None = None,
    system_prompt: str | None = None,
    mode: str = "score",
    limit: int | None = None,
    seed: int = 0,
    templates: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    max_new_tokens: int = 512,
    registry: Registry | None = None,
) -> list[ExportedTask]:
    """Write ``tasks`` into ``out`` as lm-eval tasks (module doc). ``prompt_format`` ``auto``: what ``medtuned
    evaluate`` would pick for ``model`` (its tokenizer renders a chat template), or ``alpaca`` without one.
    Everything is read and rendered before the first file is written, and each file is written atomically."""
    require_lm_eval()
    if mode not in MODES:
        raise MedTunedError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if limit is not None and limit < 1:
        raise MedTunedError(f"--limit must be at least 1, got {limit}")
    if max_new_tokens < 1:
        raise MedTunedError(f"--max-new-tokens must be at least 1, got {max_new_tokens}")
    require_data_dir(data_dir)
    registry = registry or get_registry()
    names = [t.strip() for t in tasks.split(",") if t.strip()] if isinstance(tasks, str) else list(tasks)
    if not names:
        raise MedTunedError("no task given: pass --tasks a,b (`medtuned list-tasks` shows them)")
    selected = registry.select(names)
    clash = {lm_eval_name(t.name) for t in selected if sum(lm_eval_name(u.name) == lm_eval_name(t.name) for u in selected) > 1}
    if clash:
        raise MedTunedError(f"tasks whose lm-eval names coincide ({', '.join(sorted(clash))}): export them separately")
    fmt = _format(prompt_format, model, system_prompt)
    tokenizer = _tokenizer(fmt, model)
    custom = load_templates(Path(templates), known=registry, used_by=[t.name for t in selected]) if templates else None
    out = Path(out)
    utils_path = out / UTILS
    if utils_path.exists() and not utils_path.read_text(encoding="utf-8", errors="replace").startswith(UTILS_HEADER):
        raise MedTunedError(f"{utils_path}: exists and was not written by `medtuned export lm-eval`; choose another --out")
    until = stop_strings(fmt, tokenizer)
    planned = []
    for info in selected:
        every = list(render_split(registry, info, data_dir, split, seed, custom, dict(options or {})))
        if not every:
            raise MedTunedError(f"{info.name}: the {split} split has no examples")
        kind, reason = _choice_kind(every, mode)  # judged on the whole split, so that a sample does not change it
        rows = sample_rows(every, limit, seed, info.name, split)
        max_gen_toks = _budget(info, rows, fmt, tokenizer, max_new_tokens) if kind == GENERATE_UNTIL else None
        name = lm_eval_name(info.name)
        meta = {
            "task": info.name,
            "split": split,
            "format": fmt.name,
            "system_prompt": fmt.system_prompt,
            "mode": mode,
            "seed": seed,
            "limit": limit,
            "templates": "custom" if custom and info.name in custom else "builtin",
            "options": dict(options or {}),
            "metric": info.metric,
            "package": f"{info.package} {info.version}".strip(),
        }
        data_path = out / f"{name}.jsonl"
        config = _task_config(name, info, data_path, kind, until, max_gen_toks or 0, meta)
        docs = [_document(r, fmt, kind) for r in rows]
        metrics = [m["metric"] for m in config["metric_list"]]
        planned.append((ExportedTask(info.name, name, kind, len(docs), metrics, max_gen_toks, out / f"{name}.yaml", data_path, reason), config, docs))
    for exported, config, docs in planned:
        write_jsonl(exported.data_path, docs)
        with atomic_writer(exported.yaml_path) as fh:
            fh.write(f"{UTILS_HEADER} from the {exported.task} task of MedTuned; lm_eval --include_path {out.name} --tasks {exported.name}\n")
            fh.write(_yaml_text(config))
    with atomic_writer(utils_path) as fh:
        fh.write(UTILS_TEXT)
    return [p[0] for p in planned]


def _format(requested: str, model: str | None, system_prompt: str | None) -> PromptFormat:
    if requested != AUTO:
        choose_format(requested, None, None)  # an unknown name fails before any model is read
    if model is not None:
        from .prompt import format_for_model

        return format_for_model(model, requested, system_prompt)
    if requested == CHAT:
        raise MedTunedError("--format chat needs --model: the model's tokenizer renders its chat template")
    return make_format(ALPACA, None, system_prompt)
