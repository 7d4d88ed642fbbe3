"""The ``medtuned card`` command: update the Hub card of an export or a build, and (only when asked) push it."""

from __future__ import annotations

from pathlib import Path

import click

from . import cards
from .errors import MedTunedError


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--eval-results",
    "eval_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A `medtuned evaluate --out` folder of this model: its scores become model-index results (repeatable).",
)
@click.option("--license", "licence", metavar="ID", help="The model's Hub licence id (e.g. apache-2.0), when the base model's card did not give it.")
@click.option(
    "--dataset", "datasets", multiple=True, metavar="REPO_ID", help="A Hub dataset repo the model was trained on, e.g. the pushed build (repeatable)."
)
@click.option("--model-name", help="The model's name in the card and in model-index (default: the run folder's name).")
@click.option(
    "--push-to-hub",
    "repo_id",
    metavar="REPO_ID",
    help="Upload FOLDER (card included) to this Hub repo. Off by default; needs a token (HF_TOKEN or `hf auth login`).",
)
@click.option("--private/--public", default=True, help="Visibility of a repo that --push-to-hub creates.  [default: private]")
def card(
    folder: Path, eval_dirs: tuple[Path, ...], licence: str | None, datasets: tuple[str, ...], model_name: str | None, repo_id: str | None, private: bool
) -> None:
    """Write or update the Hugging Face card of FOLDER: a `medtuned train` export (RUN/model) or a `medtuned build`
    output (its dataset/ folder holds the dataset card).

    For an export, --eval-results adds the scores of `medtuned evaluate` runs of that very model (checked by the
    weights' fingerprint); an evaluation on the same split, mode, seed and sample replaces the earlier one's tasks.
    """
    if (folder / "manifest.json").is_file() and not (folder / "config.json").is_file():
        if eval_dirs or licence or datasets or model_name:
            raise click.UsageError("--eval-results, --license, --dataset and --model-name apply to a model export, not to a build")
        return _build(folder, repo_id, private)
    hub, block = cards.load_model_card(folder)
    families = {t.name: t.family for t in _registry_tasks()}
    for eval_dir in eval_dirs:
        block["evaluations"] = cards.merge_evaluations(block["evaluations"], cards.evaluation_record(eval_dir, folder, families))
    hub.update({k: v for k, v in {"license": licence, "model_name": model_name, "datasets": list(datasets) or None}.items() if v})
    hub["model_name"] = hub.get("model_name") or folder.resolve().parent.name  # model-index needs a name
    path = cards.write_card(folder, cards.render_model_card(hub, block))
    results = sum(len(ev["tasks"]) for ev in block["evaluations"])
    click.echo(f"wrote {path} ({results} evaluation result(s))", err=True)
    if repo_id:
        credentialed = cards.credentialed_tasks(block["training_data"].get("tasks", []))
        if credentialed:
            click.echo(f"note: trained on credentialed corpora ({', '.join(credentialed)}); check their data-use agreements", err=True)
        click.echo(f"pushed {folder} to {cards.push_folder(folder, repo_id, repo_type='model', private=private)}", err=True)


def _build(out: Path, repo_id: str | None, private: bool) -> None:
    from huggingface_hub import DatasetCard

    dataset = out / "dataset"
    if not (dataset / cards.CARD).is_file():
        raise MedTunedError(f"{out}: no dataset/{cards.CARD} (built with --no-dataset?); rebuild to get the parquet shards and their card")
    block = DatasetCard.load(dataset / cards.CARD).data.to_dict().get(cards.CARD_KEY) or {}
    click.echo(f"{dataset / cards.CARD}: dataset card of {block.get('spec', '?')} ({len(block.get('tasks', []))} tasks)", err=True)
    if repo_id:
        credentialed = cards.credentialed_tasks(block.get("tasks", []))
        if credentialed:
            raise MedTunedError(
                f"{out} holds rows of credentialed corpora ({', '.join(credentialed)}), whose data-use agreements forbid redistribution: not pushed"
            )
        click.echo(f"pushed {dataset} to {cards.push_folder(dataset, repo_id, repo_type='dataset', private=private)}", err=True)


def _registry_tasks():
    try:
        from .cli import registry

        return list(registry().tasks.values())
    except Exception:  # noqa: BLE001 - families only choose the model-index task type; a broken plugin must not stop the card
        return []
