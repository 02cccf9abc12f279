"""The run's trackers on rank 0 — wandb, MLflow and TensorBoard — started together and finished together."""
from __future__ import annotations

from pathlib import Path

from fai_rl.tracking import mlflow_run, wandb_run


class Trackers:
    def __init__(self, run, run_dir: Path):
        self.wandb = wandb_run.start(run)
        self.mlflow = mlflow_run.start(run)
        self.tensorboard = None
        if run.tracking.tensorboard:
            # torch's SummaryWriter: loaded only when asked for
            from fai_rl.tracking.tensorboard_log import TensorBoardLog

            self.tensorboard = TensorBoardLog(run_dir)

    def callbacks(self) -> list:
        """Trainer callbacks that feed the trackers fai-rl writes itself (wandb and MLflow come through report_to)."""
        return [self.tensorboard] if self.tensorboard else []

    def close_training(self) -> None:
        """Training and its evaluation are over: close wandb and the TensorBoard files."""
        wandb_run.finish(self.wandb)
        self.wandb = None
        if self.tensorboard:
            self.tensorboard.close()

    def finish(self, artifacts: list, failed: bool = False) -> None:
        """Everything is written: the MLflow run gets its artifacts and ends."""
        self.close_training()
        mlflow_run.finish(self.mlflow, artifacts, failed)
        self.mlflow = None
