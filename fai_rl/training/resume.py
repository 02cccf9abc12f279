"""Inside a run: mark each checkpoint complete once written, and finish from one already at max_steps."""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_callback import TrainerState
from transformers.trainer_utils import TrainOutput

from .checkpoints import MARKER

log = logging.getLogger("fai_rl")


def finish_from_checkpoint(trainer, checkpoint: str):
    """The run had reached max_steps when it died (after its last checkpoint, before the model was saved):
    load that checkpoint instead of training, since the Trainer would take one step too many from there."""
    trainer._load_from_checkpoint(checkpoint)
    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    log.info("checkpoint %s is already at max_steps: nothing left to train", checkpoint)
    return TrainOutput(trainer.state.global_step, losses[-1] if losses else float("nan"), {})


class MarkCheckpointComplete(TrainerCallback):
    """After the Trainer finished writing checkpoint-N, mark it complete (atomically)."""

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            tmp = folder / (MARKER + ".tmp")
            tmp.write_text(json.dumps({"step": state.global_step, "time": time.time()}))
            os.replace(tmp, folder / MARKER)
