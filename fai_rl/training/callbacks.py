"""The callbacks around a run's trainer, on every rank: metrics.jsonl, completion markers on checkpoints, uploads,
stop signals, the watchdog, the evaluation before training, the best-metric check, the reward-hacking alarm and the
trackers; and what happens to them when training fails or ends."""
from __future__ import annotations

import contextlib
import os

from transformers import EarlyStoppingCallback

from fai_rl.config.derived import launched
from fai_rl.config.run_files import run_files
from fai_rl.config.schema import RunConfig
from fai_rl.evaluation.best_metric import RequireBestMetric
from fai_rl.evaluation.eval_before import EvalBefore
from fai_rl.evaluation.reward_alarm import RewardAlarm
from fai_rl.storage.checkpoint_dirs import complete_checkpoints
from fai_rl.tracking.metrics_log import MetricsLog
from fai_rl.tracking.model_card import resume_command
from fai_rl.tracking.trackers import Trackers
from fai_rl.training.arguments import best_model_metric
from fai_rl.training.checkpoints import MarkCheckpointComplete, failed_write
from fai_rl.training.guards import FiniteLoss, StopSignals
from fai_rl.training.upload import UploadCheckpoints, Uploader
from fai_rl.training.watchdog import Watchdog


class RunCallbacks:
    """Rank 0 also holds the trackers and the uploader; `guard()` wraps building and fitting the trainer."""

    def __init__(self, run: RunConfig, module, main: bool):
        self.run, self.module, self.main = run, module, main
        self.files = run_files(run)
        self.trackers = Trackers(run, self.files.root) if main else None
        self.uploader = Uploader(run) if main and run.upload.url else None
        self.metrics_log = MetricsLog(self.files.metrics)
        self.stop_signals = StopSignals(save_resumable=not run.training.save_only_model)  # Ctrl-C stops cleanly
        self.watchdog = self.alarm = self.eval_before = None
        self.best_metric = best_model_metric(run)

    def attach(self, trainer, has_eval: bool) -> None:
        """Every callback on `trainer`, in the order they must see each step."""
        run, e = self.run, self.run.evaluation
        if run.watchdog_seconds:  # a step that never ends stops the job with every rank's stacks
            self.watchdog = Watchdog(run.watchdog_seconds, self.files.root, int(os.environ.get("RANK", "0")),
                                     run.world_size, in_process=not launched(run))
        if e.alarm_metric and self.module.TRAIN_REWARD:
            self.alarm = RewardAlarm(self.module.TRAIN_REWARD, e.alarm_metric, e.alarm_evals, e.stop_on_alarm)
        uploads = [UploadCheckpoints(self.uploader)] if self.uploader and run.upload.checkpoints else []
        best_check = RequireBestMetric(self.best_metric) if self.best_metric else None
        for callback in (self.metrics_log, MarkCheckpointComplete(), *uploads, self.stop_signals, self.watchdog,
                         best_check, self.alarm):
            if callback is not None:
                trainer.add_callback(callback)
        if self.trackers:
            self.trackers.attach(trainer)
        trainer.add_callback(FiniteLoss(trainer))
        if run.training.early_stopping:
            trainer.add_callback(EarlyStoppingCallback(run.training.early_stopping_patience,
                                                       run.training.early_stopping_threshold))
        self.eval_before = EvalBefore(trainer, self.module.evaluate)
        if has_eval:
            trainer.add_callback(self.eval_before)

    @contextlib.contextmanager
    def guard(self):
        """A failure still completes the uploads of finished checkpoints, ends the trackers as failed and, when it
        was a write into the output dir, says which checkpoint is still usable; the watchdog and the signal
        handlers end with training either way."""
        try:
            yield self
        except BaseException as err:
            if self.uploader:
                self.uploader.finish()
            if self.trackers:
                self.trackers.finish([], failed=True)
            failure = failed_write(err, self.run.training.output_dir, not self.run.training.save_only_model)
            if failure:
                raise failure from err
            raise
        finally:
            self.end_training()

    def end_training(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        self.stop_signals.restore()
        if self.trackers:
            self.trackers.close_training()

    def raise_if_stopped(self, trainer) -> None:
        """SIGTERM or Ctrl-C stopped training after a step: end the run with what was saved and how to go on."""
        self.stop_signals.restore()  # evaluating and saving the finished run: Ctrl-C stops at once
        if self.stop_signals.received is None:
            return
        t = self.run.training
        done = complete_checkpoints(t.output_dir) if not t.save_only_model else []
        raise self.stop_signals.stopped(trainer.state.global_step, t.output_dir, done[-1] if done else None,
                                        resume_command(self.run))
