"""Checkpoints inside a run: mark each complete once the Trainer wrote it, finish from one already at max_steps,
and turn a failed write into one line that says which checkpoint is still usable."""
from __future__ import annotations

import errno
import logging
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_callback import TrainerState
from transformers.trainer_utils import TrainOutput

from fai_rl.errors import RunFailed, RunStopped
from fai_rl.storage.checkpoint_dirs import (
    checkpoint_folders,
    complete_checkpoints,
    is_complete,
    mark_complete,
    resolve_resume,
    set_aside_incomplete,
)

DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EIO}
log = logging.getLogger("fai_rl")


def resume_point(run, main: bool):
    """The checkpoint a resumed run continues from, or None to start fresh; rank 0 first sets aside the
    checkpoints a killed run left incomplete."""
    if not run.resuming:
        return None
    if main:
        set_aside_incomplete(run.training.output_dir)
    return resolve_resume(run.training.resume, run.training.output_dir)


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
            mark_complete(folder, state.global_step)


def failed_write(err: BaseException, output_dir, resumable: bool):
    """A run that failed while writing into output_dir (disk full, read-only, a save cut short: an unmarked
    checkpoint is left) as one RunFailed saying what is still usable; None for any other failure."""
    partial = [p for p in checkpoint_folders(output_dir) if not is_complete(p)]
    disk = isinstance(err, OSError) and err.errno in DISK_ERRNOS
    if isinstance(err, RunStopped) or not isinstance(err, Exception) or not (partial or disk):
        return None
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
    done = complete_checkpoints(output_dir)
    cut = f"{partial[-1].name} is incomplete and will not be used; " if partial else ""
    if not done:
        kept = "no complete checkpoint had been written"
    elif resumable:
        kept = (f"the newest complete checkpoint, {done[-1].name}, is intact: training.resume=auto continues "
                "from it")
    else:
        kept = f"the newest complete checkpoint, {done[-1].name}, is intact (its model loads; save_only_model=true)"
    return RunFailed(f"writing to training.output_dir '{output_dir}' failed ({type(err).__name__}: {reason}); "
                     f"{cut}{kept}")
