"""The run's trackers on rank 0 — wandb, MLflow and TensorBoard — started together and finished together, each fed
from a thread of its own (tracking.background): one that stops answering never holds up training."""
from __future__ import annotations

from pathlib import Path

from transformers.integrations import WandbCallback

from fai_rl.tracking import mlflow_run, wandb_run
from fai_rl.tracking.background import OffThread


class Trackers:
    def __init__(self, run, run_dir: Path):
        self.wandb = wandb_run.start(run)
        self.mlflow = mlflow_run.start(run)
        self.tensorboard = None
        self.feeds: dict = {}  # tracker name -> OffThread
        self.missed: dict = {}  # tracker name -> calls it missed (for summary.json)
        if self.mlflow:
            self.feeds["MLflow"] = OffThread("MLflow", "tracking.mlflow_tracking_uri",
                                             mlflow_run.MlflowMetrics(self.mlflow))
        if run.tracking.tensorboard:
            # torch's SummaryWriter: loaded only when asked for
            from fai_rl.tracking.tensorboard_log import TensorBoardLog

            self.tensorboard = TensorBoardLog(run_dir)
            self.feeds["TensorBoard"] = OffThread("TensorBoard", "tracking.tensorboard", self.tensorboard)

    def attach(self, trainer) -> None:
        """The trackers' callbacks on `trainer`, each behind its thread: fai-rl's own (MLflow, TensorBoard) and HF's
        WandbCallback, which report_to=wandb put there (report_to keeps 'wandb' for TRL's completion tables)."""
        hf_wandb = trainer.pop_callback(WandbCallback)
        if hf_wandb is not None and self.wandb is not None:
            self.feeds["wandb"] = OffThread("wandb", "wandb.enabled", hf_wandb)
        for feed in self.feeds.values():
            trainer.add_callback(feed)

    def close_training(self) -> None:
        """Training and its evaluation are over: wandb and the TensorBoard files take their backlog and close;
        MLflow takes its backlog (its run ends in `finish`, with the artifacts)."""
        for name, tracker, close in (("wandb", self.wandb, wandb_run.finish),
                                     ("TensorBoard", self.tensorboard, lambda board: board.close())):
            feed = self.feeds.pop(name, None)
            if tracker is None:
                continue
            if feed is None:  # never attached: training did not start
                close(tracker)
                continue
            feed.submit(close, tracker)
            self.missed[name] = feed.close()
        self.wandb = self.tensorboard = None
        if "MLflow" in self.feeds and "MLflow" not in self.missed:
            self.feeds["MLflow"].wait()
            self.missed["MLflow"] = self.feeds["MLflow"].backlog()

    def finish(self, artifacts: list, failed: bool = False) -> None:
        """Everything is written: the MLflow run gets its artifacts and ends (on its thread, waited for a while)."""
        self.close_training()
        feed = self.feeds.pop("MLflow", None)
        if feed is not None:
            feed.submit(mlflow_run.finish, self.mlflow, artifacts, failed)
            feed.close()
        self.mlflow = None

    def summary(self) -> dict:
        """{tracker: calls it missed} for the trackers that missed any."""
        return {name: count for name, count in self.missed.items() if count}
