"""Trackers besides wandb, against real ones: a run's metrics, params and artifacts read back from an MLflow
tracking server started here on localhost (a sweep's jobs in one experiment), and TensorBoard event files holding
the scalars of metrics.jsonl under the same tags."""
from __future__ import annotations

import json

import pytest
from conftest import run_cli
from services import mlflow_server
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow
FAST = ["training.max_steps=20", "training.logging_steps=5", "training.progress_bar=false"]


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


def test_mlflow_run_holds_config_metrics_and_artifacts(mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    proc = run_cli(*FAST, f"tracking.mlflow_tracking_uri={mlflow_uri}", "wandb.api_key=do-not-log-me",
                   f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("fai-rl-dpo")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.status == "FINISHED"
    params = found.data.params
    assert params["training.learning_rate"] == "0.0005" and params["algorithm.name"] == "dpo"
    assert "do-not-log-me" not in json.dumps(params) and params["wandb.api_key"] == "<redacted>"
    history = [m.value for m in client.get_metric_history(found.info.run_id, "loss")]
    logged = [r["loss"] for r in map(json.loads, open(tmp_path / "run" / "metrics.jsonl")) if "loss" in r]
    assert history == pytest.approx(logged)  # the same metrics wandb gets, step by step
    assert "eval_rewards/accuracies" in found.data.metrics
    artifacts = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"summary.json", "training_curves.png"} <= artifacts


def test_a_sweeps_jobs_share_one_experiment(mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    proc = run_cli("-m", "training.max_steps=3,4", "training.progress_bar=false", "data.eval_datasets=[]",
                   "training.run_name=swept", f"tracking.mlflow_tracking_uri={mlflow_uri}",
                   f"hydra.sweep.dir={tmp_path}/multirun/day/time", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("swept sweep day/time")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(int(r.data.params["training.max_steps"]) for r in runs) == [3, 4]


def test_tensorboard_holds_the_metrics_jsonl_scalars(tmp_path):
    proc = run_cli(*FAST, "tracking.tensorboard=true", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    logged = {k for r in records for k, v in r.items() if k != "step" and isinstance(v, (int, float))}
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == logged
    losses = [e.value for e in events.Scalars("loss")]
    assert losses == pytest.approx([r["loss"] for r in records if "loss" in r])
