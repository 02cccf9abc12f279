"""An MLflow run for the training run (tracking.mlflow_tracking_uri): params = the resolved config (secrets
removed), metrics = every metric dict the trainer logs (as metrics.jsonl and wandb get them), artifacts =
summary.json and the curves PNG. A sweep's jobs share one experiment.

Everything goes through an MlflowClient (no thread-bound active run), so the metrics can be sent from the
tracker's own thread (tracking.background). Credentials in the URI (http://user:password@host) reach MLflow through
MLFLOW_TRACKING_USERNAME/PASSWORD, never as part of a URI MLflow could print or store; each HTTP call is bounded
(MLFLOW_HTTP_REQUEST_TIMEOUT, MLFLOW_HTTP_REQUEST_MAX_RETRIES, unless set already)."""
from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path

from transformers import TrainerCallback

from fai_rl.config.run_files import run_files
from fai_rl.config.secrets import mask_urls, redact, split_credentials
from fai_rl.errors import ConfigError

MAX_PARAMS_PER_CALL = 100
MAX_PARAM_VALUE = 500
HTTP_BOUNDS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "5", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
               "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}  # a call to a stalled server gives up after about 11 s


@dataclasses.dataclass
class MlflowRun:
    client: object  # mlflow.MlflowClient
    run_id: str


def flat(tree: dict, prefix: str = "") -> dict:
    """{'training': {'learning_rate': 1e-6}} -> {'training.learning_rate': 1e-6}."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat(value, name + "."))
        else:
            out[name] = value
    return out


def client_for(uri: str):
    """An MlflowClient for `uri`; its user:password@ go to MLflow's basic-auth variables."""
    from mlflow import MlflowClient  # ~1 s: loaded only when MLflow is on

    for name, value in HTTP_BOUNDS.items():
        os.environ.setdefault(name, value)
    bare, user, password = split_credentials(uri)
    if user is not None:
        os.environ["MLFLOW_TRACKING_USERNAME"] = user
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password or ""
    return MlflowClient(bare)


def start(run) -> MlflowRun | None:
    """The run's MLflow run, created with its params; None when MLflow is off."""
    uri = run.tracking.mlflow_tracking_uri
    if not uri:
        return None
    from mlflow.entities import Param

    client = client_for(uri)
    try:
        experiment = experiment_id(client, run.tracking.mlflow_experiment or run.training.run_name)
        created = client.create_run(experiment, run_name=run_files(run).root.name,
                                    tags={"fai_rl.run_name": run.training.run_name,
                                          "fai_rl.algorithm": run.algorithm.name})
        params = sorted((k, str(v)[:MAX_PARAM_VALUE]) for k, v in flat(redact(dataclasses.asdict(run))).items())
        for i in range(0, len(params), MAX_PARAMS_PER_CALL):
            client.log_batch(created.info.run_id, params=[Param(k, v) for k, v in params[i:i + MAX_PARAMS_PER_CALL]])
    except Exception as err:  # MLflow's own errors (server, store): one line, the setting and the way on
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"tracking.mlflow_tracking_uri '{mask_urls(uri)}': MLflow failed to start the run "
                          f"({mask_urls(first)}); fix the server or set tracking.mlflow_tracking_uri=null") from None
    return MlflowRun(client, created.info.run_id)


def experiment_id(client, name: str) -> str:
    """The id of experiment `name`, created if missing (a sweep's parallel jobs may race to create it)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


class MlflowMetrics(TrainerCallback):
    """Every logged metric dict into the MLflow run at the trainer's step (names as HF's MLflowCallback cleans
    them); meant to run on the tracker's own thread."""

    def __init__(self, mlflow: MlflowRun):
        self.mlflow = mlflow

    def on_log(self, args, state, control, logs=None, **kwargs):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(re.sub(r"[^0-9A-Za-z_\-\.\ :/]", "_", k), float(v), now, state.global_step)
                   for k, v in (logs or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if metrics:
            self.mlflow.client.log_batch(self.mlflow.run_id, metrics=metrics)


def finish(mlflow: MlflowRun, artifacts: list, failed: bool = False) -> None:
    for path in artifacts:
        if Path(path).exists():
            mlflow.client.log_artifact(mlflow.run_id, str(path))
    mlflow.client.set_terminated(mlflow.run_id, status="FAILED" if failed else "FINISHED")
