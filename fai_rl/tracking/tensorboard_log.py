"""TensorBoard event files in <run_dir>/tensorboard holding the same scalars, under the same tags, as
metrics.jsonl (tracking.tensorboard; rank 0)."""
from __future__ import annotations

import numbers
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter
from transformers import TrainerCallback

from fai_rl.config.run_files import RunFiles


class TensorBoardLog(TrainerCallback):
    def __init__(self, run_dir: Path):
        self.writer = SummaryWriter(log_dir=str(RunFiles(Path(run_dir)).tensorboard))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        for key, value in logs.items():
            if isinstance(value, numbers.Number) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, state.global_step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
