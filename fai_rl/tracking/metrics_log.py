"""A TrainerCallback that appends every logged metric dict to metrics.jsonl in the run dir (rank 0 only)."""
from __future__ import annotations

import json
from pathlib import Path

from transformers import TrainerCallback


class MetricsLog(TrainerCallback):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.history: list = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, **logs}
        self.history.append(record)
        if state.is_world_process_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps(record, default=str) + "\n")

    def last_train_metrics(self) -> dict:
        """The last logged value of every training metric (train_* summary keys included)."""
        merged: dict = {}
        for record in self.history:
            for key, value in record.items():
                if not key.startswith("eval_") and isinstance(value, (int, float)):
                    merged[key] = value
        return merged

