"""Hugging Face Hub cards for what MedTuned writes, built with ``huggingface_hub`` so the Hub reads their metadata.

- The **dataset card** of a build (``OUT/dataset/README.md``): licence, size, the ``configs`` that point
  ``datasets.load_dataset`` at the parquet shards, and per task its family, rows, licence and access level.
- The **model card** of a training export (``RUN/model/README.md``): base model, licence, the training data (per
  task: rows, licence, access), the recipe, the training losses and, once ``medtuned card --eval-results`` adds
  them, the scores of ``medtuned evaluate`` runs as ``model-index`` entries.

The YAML header is the record: besides the Hub's own keys it holds a ``medtuned`` block (format
``medtuned-model/1`` or ``medtuned-build/1``), and the Markdown body is rendered from it, so a card can be
updated (``medtuned card``) without the files it was first made from. Nothing here holds paths of this machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import MedTunedError
from .jsonl import atomic_writer
from .types import TaskInfo

CARD = "README.md"
CARD_KEY = "medtuned"
MODEL_CARD_FORMAT = "medtuned-model/1"
DATASET_CARD_FORMAT = "medtuned-build/1"
TAGS = ["medtuned", "biomedical", "clinical-nlp", "instruction-tuning"]
STUDY = (
    "Rohanian O, Nouriborji M, Clifton DA. Exploring the Effectiveness of Instruction Tuning in Biomedical Language "
    "Processing. Artificial Intelligence in Medicine 158:103007, 2024. arXiv:2401.00579."
)
# Licence ids the Hub accepts that our task plugins' licence texts can name; anything else becomes "other".
HUB_LICENSES = frozenset(
    "apache-2.0 mit cc0-1.0 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-4.0 cc-by-nc-sa-4.0 gpl-2.0 gpl-3.0 "
    "lgpl-3.0 bsd-2-clause bsd-3-clause odc-by pddl llama2 llama3 llama3.1 llama3.2 gemma".split()
)
# Hub pipeline task per MedTuned family, for model-index entries.
TASK_TYPES = {
    "ner": "token-classification",
    "re": "text-classification",
    "nli": "text-classification",
    "cls": "text-classification",
    "qa": "question-answering",
}
# Base models whose Hub id and licence are known without the network (the built-in alias).
KNOWN_BASES = {"smollm2-135m": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0")}


def hub_license(text: str) -> str | None:
    """The Hub licence id a plugin's licence text states, when it is exactly one (a trailing ``(note)`` allowed)."""
    core = re.sub(r"\s*\([^()]*\)\s*$", "", text or "").strip().lower()
    return core if core in HUB_LICENSES else None


def _size_category(rows: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")]
    return next((label for bound, label in bounds if rows < bound), "10M<n<100M")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return lines


def _card_text(yaml_header: str, body: Sequence[str]) -> str:
    return "---\n" + yaml_header.strip() + "\n---\n\n" + "\n".join(body).rstrip() + "\n"


def task_records(counts: Mapping[str, Mapping[str, int]], tasks: Mapping[str, TaskInfo], licences: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Per task in the data: family, rows per split, licence, Hub licence id, access level, providing package."""
    licences = licences or {}
    names = sorted({name for per_split in counts.values() for name in per_split})
    out = []
    for name in names:
        info = tasks.get(name)
        licence = (info.license if info else "") or licences.get(name, "")
        record: dict[str, Any] = {
            "task": name,
            "family": info.family if info else "",
            "rows": {split: per_split[name] for split, per_split in counts.items() if name in per_split},
            "license": licence or "not stated",
            "hub_license": hub_license(licence) or "other",
            "access": info.access if info else "unknown",
        }
        if info and info.package:
            record["package"] = f"{info.package} {info.version}".strip()
        out.append(record)
    return out


def _data_licence(records: Sequence[Mapping[str, Any]]) -> str:
    ids = {r["hub_license"] for r in records}
    return ids.pop() if len(ids) == 1 else "other"


def credentialed_tasks(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The tasks among ``records`` (``{"task", "access", ...}``) whose corpora are credentialed."""
    return [r["task"] for r in records if r.get("access") == "credentialed"]


def _citations(records: Sequence[Mapping[str, Any]], tasks: Mapping[str, TaskInfo]) -> list[str]:
    lines = ["## Citation", "", "The study MedTuned reproduces:", "", f"- {STUDY}"]
    cited = [(r["task"], tasks[r["task"]].citation) for r in records if r["task"] in tasks and tasks[r["task"]].citation]
    if cited:
        lines += ["", "The corpora:", ""] + [f"- {name}: {citation}" for name, citation in cited]
    return lines


# -- the dataset card of a build -------------------------------------------------------------------------------------


def dataset_card(manifest: Mapping[str, Any], tasks: Mapping[str, TaskInfo], shards: Mapping[str, Sequence[str]], fields: Sequence[str]):
    """The ``huggingface_hub.DatasetCard`` of a build's ``dataset/`` folder (deterministic: no time, no paths)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    spec = manifest["spec"]
    records = task_records(manifest["counts"], tasks)
    rows = {split: sum(per_task.values()) for split, per_task in manifest["counts"].items()}
    licence = _data_licence(records)
    block = {
        "format": DATASET_CARD_FORMAT,
        "spec": spec["name"],
        "spec_sha256": manifest["spec_sha256"],
        "seed": manifest["seed"],
        "outputs": manifest["outputs"],
        "tasks": records,
        "missing": sorted({m["task"] for m in manifest["missing"]}),
        "leakage_dropped_rows": manifest["leakage"]["dropped_rows"],
    }
    extra = {"license_name": "per-task-licences"} if licence == "other" else {}  # the table in the card names them
    data = DatasetCardData(
        license=licence,
        **extra,
        pretty_name=f"MedTuned instruction mix: {spec['name']}",
        language=["en"],
        task_categories=["text-generation"],
        size_categories=[_size_category(sum(rows.values()))],
        tags=TAGS,
        configs=[{"config_name": "default", "data_files": [{"split": split, "path": f"data/{split}-*"} for split in shards]}],
        dataset_info={"features": [_feature(name) for name in fields]},
        **{CARD_KEY: block},
    )
    return DatasetCard(_card_text(data.to_yaml(), _dataset_body(block, spec, rows, tasks, fields)))


def _feature(name: str) -> dict[str, Any]:
    """A column in the Hub card's ``dataset_info`` (``messages`` is a list of role/content pairs)."""
    if name == "messages":
        return {"name": name, "list": [{"name": "role", "dtype": "string"}, {"name": "content", "dtype": "string"}]}
    return {"name": name, "dtype": "string"}


FIELD_DOCS = {
    "instruction": "the task instruction (one of the task's templates)",
    "input": "the text to work on",
    "output": "the answer the model is trained to give",
    "task": "the MedTuned task name",
    "template_id": "which template (`builtin:N` or `custom:N`)",
    "id": "the example's id in its corpus",
    "messages": "the same row as chat turns (`user`: instruction and input, `assistant`: output), the form TRL's SFTTrainer and axolotl read",
}


def _dataset_body(
    block: Mapping[str, Any], spec: Mapping[str, Any], rows: Mapping[str, int], tasks: Mapping[str, TaskInfo], fields: Sequence[str]
) -> list[str]:
    records = block["tasks"]
    lines = [f"# MedTuned instruction mix: {spec['name']}", ""]
    if spec.get("description"):
        lines += [str(spec["description"]), ""]
    lines += [
        f"Instruction-tuning rows for biomedical and clinical NLP, written by `medtuned build` from the mix spec `{spec['name']}` "
        f"with seed {block['seed']}: " + ", ".join(f"{n:,} {split} rows" for split, n in rows.items()) + ".",
        "",
        "Research use only: not a medical device, not for clinical decisions.",
        "",
    ]
    credentialed = credentialed_tasks(records)
    if credentialed:
        lines += [
            f"**Contains rows from credentialed corpora ({', '.join(credentialed)}).** Their data-use agreements forbid "
            "redistribution: keep this folder private. `medtuned card --push-to-hub` refuses to upload it.",
            "",
        ]
    lines += [
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        'mix = load_dataset("path/to/dataset")  # this folder, or its Hub repo id',
        "```",
        "",
    ]
    lines += ["## Rows", ""] + [f"- `{name}`: {FIELD_DOCS.get(name, '')}" for name in fields] + [""]
    lines += ["## Tasks and licences", "", "Each corpus keeps its own licence; using this mix means following every one of them.", ""]
    splits = list(rows)
    lines += _table(
        ["task", "family", *(f"{s} rows" for s in splits), "licence", "access"],
        [[r["task"], r["family"], *(f"{r['rows'].get(s, 0):,}" for s in splits), r["license"], r["access"]] for r in records],
    )
    lines.append("")
    if block["missing"]:
        lines += [f"Built without (absent at build time): {', '.join(block['missing'])}.", ""]
    lines += [
        "## Provenance",
        "",
        f"Spec `{spec['name']}` (sha256 `{block['spec_sha256'][:16]}…`), seed {block['seed']}; "
        + "; ".join(f"`{name}` sha256 `{info['sha256'][:16]}…`" for name, info in block["outputs"].items())
        + f". The leakage guard dropped {block['leakage_dropped_rows']:,} training rows repeating evaluation inputs. "
        "`manifest.json` beside this folder records every input file's hash and the package versions.",
        "",
    ]
    return lines + _citations(records, tasks)


def write_card(folder: Path, card: Any) -> Path:
    """``folder/README.md``, atomically."""
    path = Path(folder) / CARD
    with atomic_writer(path) as fh:
        fh.write(str(card).rstrip("\n") + "\n")
    return path


# -- the model card of an export -------------------------------------------------------------------------------------


def base_model_facts(model: str, resolved: str) -> tuple[str | None, str | None]:
    """``(hub id, licence)`` of the base model, where known offline: the built-in alias, a hub id as given
    (licence unknown), or a local folder whose own card names them."""
    if model.lower() in KNOWN_BASES:
        return KNOWN_BASES[model.lower()]
    folder = Path(resolved)
    if folder.is_dir():
        card = _load_card(folder / CARD)
        if card is None:
            return None, None
        base = card.data.to_dict().get("base_model")
        return (base if isinstance(base, str) else None), card.data.to_dict().get("license")
    return model, None


def base_model_name(model: str, resolved: str) -> str:
    """How the card names the base model: an alias or hub id as given, a local folder by its name only."""
    return Path(resolved).name if Path(resolved).is_dir() and model.lower() not in KNOWN_BASES else model


def _load_card(path: Path):
    from huggingface_hub import ModelCard

    if not path.is_file():
        return None
    try:
        return ModelCard.load(path)
    except Exception:  # noqa: BLE001 - a base model's malformed card only costs us its metadata
        return None


def model_card(
    *,
    base_model: str,
    base_hub_id: str | None,
    license: str | None,
    run_name: str,
    settings: Mapping[str, Any],
    training_data: Mapping[str, Any],
    results: Mapping[str, Any],
    length_report: Mapping[str, Any],
    versions: Mapping[str, str],
):
    """The ``huggingface_hub.ModelCard`` of an export, without evaluation results yet."""
    block = {
        "format": MODEL_CARD_FORMAT,
        "base_model": base_model,
        "recipe": settings.get("recipe"),
        "settings": {k: v for k, v in settings.items() if k not in ("model", "data", "out", "recipe")},
        "training_data": dict(training_data),
        "training_results": dict(results),
        "sequence_length": dict(length_report),
        "software": dict(versions),
        "evaluations": [],
    }
    return render_model_card({"base_model": base_hub_id, "license": license, "model_name": run_name}, block)


def render_model_card(hub: Mapping[str, Any], block: Mapping[str, Any]):
    """A model card from the Hub keys (``base_model``, ``license``, ``model_name``, ``datasets``) and the
    ``medtuned`` block; ``model-index`` is derived from the block's evaluations."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(
        base_model=hub.get("base_model") or None,
        license=hub.get("license") or None,
        datasets=list(hub.get("datasets") or []) or None,
        model_name=hub.get("model_name") or None,
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=TAGS,
        eval_results=eval_results(block["evaluations"]) or None,
        **{CARD_KEY: dict(block)},
    )
    return ModelCard(_card_text(data.to_yaml(), _model_body(hub, block)))


def eval_results(evaluations: Sequence[Mapping[str, Any]]) -> list[Any]:
    """``model-index`` entries: one per task and evaluation run (split, mode, sample size)."""
    from huggingface_hub import EvalResult

    out = []
    for ev in evaluations:
        for task, r in ev["tasks"].items():
            args = {"mode": ev["mode"], "n": r["n"], "unparsed": r["unparsed"]}
            if ev.get("limit"):
                args["sample"] = f"seeded sample of {ev['limit']} (seed {ev.get('seed')})"
            out.append(
                EvalResult(
                    task_type=TASK_TYPES.get(r.get("family", ""), "text-generation"),
                    dataset_type=task,
                    dataset_name=task,
                    dataset_split=ev["split"],
                    metric_type=r["metric"],
                    metric_name=f"{r['metric']} ({ev['mode']} mode)",
                    metric_value=round(float(r["score"]), 4),
                    metric_args=args,
                )
            )
    return out


def _model_body(hub: Mapping[str, Any], block: Mapping[str, Any]) -> list[str]:
    from .prompt import ALPACA, make_format

    base = hub.get("base_model") or block["base_model"]
    data = block["training_data"]
    records = data.get("tasks", [])
    lines = [f"# {hub.get('model_name') or 'MedTuned model'}: MedTuned fine-tune of `{base}`", ""]
    lines += [
        "Instruction-tuned with MedTuned (`medtuned train`) on biomedical and clinical NLP tasks, reproducing the recipe of "
        "the Llama2-MedTuned study. Research use only: not a medical device, not for clinical decisions.",
        "",
    ]
    if not hub.get("license"):
        lines += ["Licence: not stated here; the base model's licence applies (set it with `medtuned card MODEL_DIR --license ID`).", ""]
    settings = block.get("settings", {})
    lines += [
        "## Prompt format",
        "",
        *make_format(str(settings.get("format") or ALPACA), None, settings.get("system_prompt")).card(),
        "",
        "## Training data",
        "",
        f"{data.get('rows', 0):,} training rows from the mix `{data.get('build') or 'unknown'}`"
        + (f" (seed {data['seed']})" if data.get("seed") is not None else "")
        + ", written by `medtuned build`. Each corpus keeps its own licence.",
        "",
    ]
    lines += _table(["task", "rows", "licence", "access"], [[r["task"], f"{r['rows'].get('train', 0):,}", r["license"], r["access"]] for r in records])
    credentialed = credentialed_tasks(records)
    if credentialed:
        lines += ["", f"Trained on credentialed corpora ({', '.join(credentialed)}): check their data-use agreements before sharing this model."]
    length = block.get("sequence_length") or {}
    if length:
        lines += [
            "",
            f"Sequence length {length.get('max_seq_length')} tokens ({length.get('source')}); {length.get('over_limit', 0)} rows over it ({length.get('action')}).",
        ]
    lines += ["", f"## Recipe: `{block.get('recipe')}`", ""]
    lines += _table(["setting", "value"], [[k, f"`{v}`"] for k, v in block["settings"].items()])
    results = block.get("training_results") or {}
    lines += ["", "## Training results", ""]
    lines += [f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {v}" for k, v in results.items()] or ["- (no metrics logged)"]
    lines += ["", "## Evaluation", ""]
    if block["evaluations"]:
        rows = []
        for ev in block["evaluations"]:
            sample = f"sample of {ev['limit']}" if ev.get("limit") else "all"
            for task, r in ev["tasks"].items():
                rows.append([task, ev["split"], sample, ev["mode"], r["metric"], f"{r['score']:.4f}", r["n"], r["unparsed"]])
        lines += _table(["task", "split", "examples", "mode", "metric", "score", "n", "unparsed"], rows)
        lines += ["", "Scored by `medtuned evaluate`: the free-text answer is parsed back into structure and scored with the field's metric."]
    else:
        lines += ["No evaluation recorded yet: `medtuned evaluate --model MODEL_DIR ... --out EVAL` then `medtuned card MODEL_DIR --eval-results EVAL`."]
    lines += ["", "## Software", ""] + [f"- {k} {v}" for k, v in block["software"].items()]
    lines += ["", "## Citation", "", f"- {STUDY}"]
    return lines


def load_model_card(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(hub keys, medtuned block)`` of an export's card; an error when it is not a MedTuned model card."""
    path = Path(folder) / CARD
    card = _load_card(path)
    meta = card.data.to_dict() if card is not None else {}
    block = meta.get(CARD_KEY)
    if not isinstance(block, dict) or block.get("format") != MODEL_CARD_FORMAT:
        raise MedTunedError(f"{path}: not a MedTuned model card (no `{CARD_KEY}` block of format {MODEL_CARD_FORMAT}); is {folder} a `medtuned train` export?")
    data = card.data
    hub = {"base_model": data.base_model, "license": data.license, "model_name": data.model_name, "datasets": data.datasets}
    return hub, block


def evaluation_record(eval_dir: Path, model_folder: Path, families: Mapping[str, str]) -> dict[str, Any]:
    """What the card keeps of a ``medtuned evaluate`` folder; refuses one that evaluated another model."""
    from .evaluate.results import METRICS, model_fingerprint

    path = Path(eval_dir) / METRICS
    if not path.is_file():
        raise MedTunedError(f"{eval_dir}: no {METRICS} (pass the --out folder of `medtuned evaluate`)")
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        run, tasks = metrics["run"], metrics["tasks"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise MedTunedError(f"{path}: not a `medtuned evaluate` metrics file ({exc})") from None
    ours = model_fingerprint(model_folder)
    if run.get("model_fingerprint") != ours:
        raise MedTunedError(f"{eval_dir} evaluated {run.get('model')!r}, not this model folder (weights fingerprint differs): evaluate {model_folder} itself")
    keep = ("metric", "score", "n", "unparsed")
    return {
        "split": run["split"],
        "mode": run["mode"],
        "seed": run.get("seed"),
        "limit": run.get("limit"),
        "tasks": {name: {**{k: r.get(k) for k in keep}, "family": families.get(name, "")} for name, r in sorted(tasks.items())},
    }


def merge_evaluations(existing: Sequence[Mapping[str, Any]], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add ``new``; an earlier evaluation on the same split, mode, seed and sample keeps the tasks ``new`` lacks."""
    key = ("split", "mode", "seed", "limit")
    out = []
    merged = False
    for ev in existing:
        if all(ev.get(k) == new.get(k) for k in key):
            out.append({**ev, "tasks": dict(sorted({**ev["tasks"], **new["tasks"]}.items()))})
            merged = True
        else:
            out.append(dict(ev))
    return out if merged else [*out, dict(new)]


# -- publishing ------------------------------------------------------------------------------------------------------


def push_folder(folder: Path, repo_id: str, *, repo_type: str, private: bool, token: str | None = None) -> str:
    """Create the Hub repo if needed and upload ``folder`` to it; returns the commit URL. Never called by default."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, commit_message=f"Upload with medtuned card ({folder.name})")
    except Exception as exc:  # noqa: BLE001 - network, authentication or Hub errors: one line, not a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MedTunedError(f"push to the Hub ({repo_type} {repo_id}) failed: {reason}") from None
    return str(getattr(commit, "commit_url", commit))
