"""`--report-to`: the Trainer's TensorBoard, W&B and MLflow integrations, exercised offline with a tiny model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from medtuned_core.cli import cli
from medtuned_core.errors import MedTunedError
from medtuned_core.train import tracking
from medtuned_core.train.recipe import make_config


def test_report_to_is_parsed_validated_and_read_from_config_files(tmp_path: Path) -> None:
    assert tracking.parse_trackers("none") == [] and tracking.parse_trackers("") == []
    assert tracking.parse_trackers(" TensorBoard, wandb,tensorboard ") == ["tensorboard", "wandb"]
    assert make_config("paper").report_to == "none"
    with pytest.raises(MedTunedError, match="unknown tracker 'comet'"):
        make_config("paper", overrides={"report_to": "comet"})
    with pytest.raises(MedTunedError, match="'none' cannot be combined"):
        make_config("paper", overrides={"report_to": "none,wandb"})
    config = tmp_path / "c.json"
    config.write_text('{"report_to": ["mlflow", "wandb"]}')
    assert tracking.parse_trackers(make_config("paper", config_file=config).report_to) == ["mlflow", "wandb"]


def test_a_missing_tracker_package_is_one_line_naming_the_extra(tmp_path: Path, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(tracking.importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("")
    args = ["train", "--model", "m", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--report-to", "tensorboard", "--report-to", "wandb"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0 and result.exception is not None
    assert "--report-to wandb needs the wandb package: pip install 'medtuned-core[wandb]'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_mlflow_without_a_store_is_refused_before_the_run(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        tracking.importlib.util, "find_spec", lambda name, *a: object() if name == "mlflow" else None if name == "sqlalchemy" else real(name, *a)
    )
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(MedTunedError, match="set MLFLOW_TRACKING_URI"):
        tracking.require_packages(["mlflow"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    tracking.require_packages(["mlflow"])


def test_one_run_reports_to_tensorboard_wandb_and_mlflow_offline(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    for module in ("tensorboard", "wandb", "mlflow"):
        pytest.importorskip(module, reason=f"install medtuned-core[{module}] (scripts/setup.sh does)")
    from medtuned_core.testing_models import build_tiny_model, write_build_output
    from medtuned_core.train import train

    monkeypatch.setenv("WANDB_MODE", "offline")  # no network, no login
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())  # a local file store,
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # which MLflow 3 keeps behind this switch
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "medtuned-test")
    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    (tmp_path / "wandb-home").mkdir()
    import wandb

    finished: list[dict] = []  # the offline run's summary and name, read just before MedTuned finishes it
    real_finish = wandb.finish
    monkeypatch.setattr(wandb, "finish", lambda *a, **k: (finished.append({**dict(wandb.run.summary), "name": wandb.run.name}), real_finish(*a, **k)))
    model = build_tiny_model(tmp_path / "tiny")
    data = write_build_output(tmp_path / "build", n_train=8)
    out = tmp_path / "tracked-run"
    settings = {"recipe": "quick", "threads": 1, "max_steps": 3, "logging_steps": 1, "report_to": "tensorboard,wandb,mlflow"}
    train({**settings, "model": str(model), "data": str(data), "out": str(out)})

    # TensorBoard: event files in OUT/tensorboard with the training loss per step.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3]

    # W&B: an offline run named after the run folder, written under WANDB_DIR and finished by MedTuned.
    assert wandb.run is None  # so a later train() in this process starts a new run
    (summary,) = finished
    assert summary["name"] == "tracked-run" and summary["train/global_step"] == 3 and "train/loss" in summary
    runs = list((tmp_path / "wandb-home" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and b"train/loss" in next(runs[0].glob("*.wandb")).read_bytes()

    # MLflow: a run in the file store, with the loss history and the Trainer's parameters.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("medtuned-test")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "tracked-run" and run.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1, 2, 3]
