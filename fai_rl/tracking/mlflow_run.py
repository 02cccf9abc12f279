"""An MLflow run for the training run (tracking.mlflow_tracking_uri): params = the resolved config (secrets
removed), metrics = what HF's MLflowCallback logs into this run (the ones wandb gets), artifacts = summary.json and
the curves PNG. A sweep's jobs share one experiment."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from fai_rl.config.run_files import run_files
from fai_rl.config.secrets import redact

MAX_PARAMS_PER_CALL = 100
MAX_PARAM_VALUE = 500


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


def start(run):
    """The active MLflow module with a run started, or None when MLflow is off."""
    if not run.tracking.mlflow_tracking_uri:
        return None
    import mlflow  # ~1 s: loaded only when MLflow is on

    mlflow.set_tracking_uri(run.tracking.mlflow_tracking_uri)
    mlflow.set_experiment(run.tracking.mlflow_experiment or run.training.run_name)
    mlflow.start_run(run_name=run_files(run).root.name,
                     tags={"fai_rl.run_name": run.training.run_name, "fai_rl.algorithm": run.algorithm.name})
    params = {k: str(v)[:MAX_PARAM_VALUE] for k, v in flat(redact(dataclasses.asdict(run))).items()}
    items = sorted(params.items())
    for i in range(0, len(items), MAX_PARAMS_PER_CALL):
        mlflow.log_params(dict(items[i:i + MAX_PARAMS_PER_CALL]))
    return mlflow


def finish(mlflow, artifacts: list, failed: bool = False) -> None:
    if mlflow is None:
        return
    for path in artifacts:
        if Path(path).exists():
            mlflow.log_artifact(str(path))
    mlflow.end_run(status="FAILED" if failed else "FINISHED")
