"""The reward-hacking alarm: the training reward rises while an eval task metric falls, evaluation after evaluation.

At each evaluation during training the alarm pairs the eval metric with the mean training reward logged since the
evaluation before. Over the last `evals` evaluations, when the reward never fell and ended higher while the metric
never rose and ended lower, it warns on the console, keeps the warning for summary.json and, when asked, stops
training (the model is still saved).
"""
from __future__ import annotations

import logging

from transformers import TrainerCallback

log = logging.getLogger("fai_rl")


def diverging(points: list, evals: int) -> bool:
    """Whether over the last `evals` (step, reward, metric) points the reward rose and the metric fell: each step
    the reward did not fall and the metric did not rise, and from first to last both moved."""
    if len(points) < evals:
        return False
    window = points[-evals:]
    steady = all(b[1] >= a[1] and b[2] <= a[2] for a, b in zip(window, window[1:]))
    return steady and window[-1][1] > window[0][1] and window[-1][2] < window[0][2]


def describe_alarm(points: list, metric: str, train_metric: str) -> str:
    steps = ", ".join(str(p[0]) for p in points)
    rewards = " -> ".join(f"{p[1]:.3f}" for p in points)
    values = " -> ".join(f"{p[2]:.3f}" for p in points)
    return (f"possible reward hacking: the training reward ({train_metric}) rose {rewards} while {metric} fell "
            f"{values} over {len(points)} consecutive evaluations (steps {steps})")


class RewardAlarm(TrainerCallback):
    def __init__(self, train_metric: str, metric: str, evals: int, stop: bool):
        self.train_metric, self.metric, self.evals, self.stop = train_metric, metric, evals, stop
        self.rewards: list = []  # training rewards logged since the last evaluation
        self.points: list = []  # (step, mean training reward, eval metric) per evaluation
        self.warnings: list = []  # for summary.json
        self.stopped = False
        self.announced = False  # whether the first evaluation was seen (it says when the metric is missing)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and isinstance(logs.get(self.train_metric), (int, float)):
            self.rewards.append(logs[self.train_metric])

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if not self.announced:
            self.announced = True
            if value is None:
                log.info("reward-hacking alarm off: the evaluations do not log %s (evaluation.alarm_metric)",
                         self.metric)
        if not self.rewards or not isinstance(value, (int, float)):
            return  # before training, or an evaluation with no training step since the last one
        self.points.append((state.global_step, sum(self.rewards) / len(self.rewards), value))
        self.rewards = []
        if not diverging(self.points, self.evals):
            return
        message = describe_alarm(self.points[-self.evals:], self.metric, self.train_metric)
        self.warnings.append({"step": state.global_step, "train_metric": self.train_metric, "eval_metric": self.metric,
                              "message": message})
        log.warning(message + ("; stopping (evaluation.stop_on_alarm)" if self.stop else ""))
        if self.stop and not control.should_training_stop:
            control.should_training_stop = True
            self.stopped = True

    def summary(self) -> dict:
        return {"alarms": self.warnings, "stopped_by_alarm": self.stopped}
