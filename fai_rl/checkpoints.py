"""Checkpoints that can be trusted: marked complete only after every file is written; resume picks those only.

HF's Trainer writes checkpoint-N/ file by file; a process killed mid-save leaves a folder that looks like a
checkpoint. fai-rl writes `fai_rl_complete.json` into the folder once the save returned, and `resume=auto` only
considers marked folders; unmarked ones are set aside (renamed incomplete-checkpoint-N-<time>) and reported, so checkpoint rotation can never
keep a broken one over the newest complete one.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

from transformers import TrainerCallback

from fai_rl.config.errors import ConfigError

MARKER = "fai_rl_complete.json"
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
log = logging.getLogger("fai_rl")


def _checkpoints(output_dir) -> list:
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def is_complete(checkpoint: Path) -> bool:
    return (Path(checkpoint) / MARKER).exists()


def complete_checkpoints(output_dir) -> list:
    return [p for p in _checkpoints(output_dir) if is_complete(p)]


def set_aside_incomplete(output_dir) -> list:
    """Rename checkpoint folders without the completion marker; returns their new paths."""
    moved = []
    for path in _checkpoints(output_dir):
        if not is_complete(path):
            target = path.with_name(f"incomplete-{path.name}-{time.strftime('%Y%m%d-%H%M%S')}")  # HF rotation ignores it
            path.rename(target)
            log.warning("checkpoint %s was not completely written (process killed while saving?); "
                        "set aside as %s and not used", path, target.name)
            moved.append(target)
    return moved


def resolve_resume(resume, output_dir) -> str | None:
    """training.resume -> the checkpoint folder to resume from, or None to start fresh."""
    if resume is False or resume in ("false", "none", "null", None):
        return None
    if resume is True or resume == "auto":
        done = complete_checkpoints(output_dir)
        return str(done[-1]) if done else None
    path = Path(str(resume))
    if not path.is_dir():
        raise ConfigError(f"training.resume: checkpoint '{resume}' does not exist; use auto, false or a "
                          "checkpoint-N folder")
    if not is_complete(path):
        raise ConfigError(f"training.resume: '{resume}' is not a complete fai-rl checkpoint (no {MARKER}); "
                          "use auto to pick the newest complete one")
    return str(path)


def checkpoint_step(checkpoint: str) -> int:
    state = Path(checkpoint) / "trainer_state.json"
    return json.loads(state.read_text())["global_step"] if state.exists() else 0


def finish_from_checkpoint(trainer, checkpoint: str):
    """The run had reached max_steps when it died (after its last checkpoint, before the model was saved):
    load that checkpoint instead of training, since the Trainer would take one step too many from there."""
    from transformers.trainer_callback import TrainerState
    from transformers.trainer_utils import TrainOutput

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
