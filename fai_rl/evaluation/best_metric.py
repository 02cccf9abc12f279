"""training.metric_for_best_model must name a metric the evaluations log: checked at the first evaluation (before
training starts), not found by the Trainer as a KeyError at the first evaluation during training."""
from __future__ import annotations

from transformers import TrainerCallback

from fai_rl.errors import ConfigError


class RequireBestMetric(TrainerCallback):
    def __init__(self, metric: str):
        self.metric, self.checked = metric, False

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.checked:
            return
        self.checked = True
        if self.metric not in (metrics or {}):
            logged = ", ".join(sorted(k for k, v in (metrics or {}).items() if isinstance(v, (int, float))))
            raise ConfigError(f"'training.metric_for_best_model' is '{self.metric}', which this run's evaluations "
                              f"do not log; they log: {logged}")
