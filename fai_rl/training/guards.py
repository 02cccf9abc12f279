"""Guards around training: stop on a non-finite loss; stop cleanly on SIGTERM (pre-emption) and Ctrl-C."""
from __future__ import annotations

import math
import signal
import threading

from transformers import TrainerCallback

from fai_rl.errors import Interrupted, Preempted, RunStopped, TrainingDiverged


class FiniteLoss(TrainerCallback):
    """Stop with TrainingDiverged once the training loss is NaN or infinite, before anything is saved.

    On CPU each micro-step's loss is read at once (no cost). On an accelerator reading it would make the host wait
    for the device every micro-step, so the check stays on the device (a flag folded in without a sync) and is read
    once an optimizer step is about to be logged, evaluated or saved, and at the end of training.
    """

    def __init__(self, trainer, defer: bool = None):
        """`defer`: keep the check on the device; None: on accelerators only."""
        self.trainer, self.pending, self.checked_step = trainer, None, 0
        step = trainer.training_step

        def checked(*args, **kwargs):
            loss = step(*args, **kwargs)
            on_host = not hasattr(loss, "detach") or (loss.device.type == "cpu" if defer is None else not defer)
            if on_host:
                value = float(loss.detach().float().mean()) if hasattr(loss, "detach") else float(loss)
                if not math.isfinite(value):
                    self.stop(trainer.state.global_step + 1, f"the training loss is {value}")
            else:
                bad = ~loss.detach().isfinite().all()
                self.pending = bad if self.pending is None else self.pending | bad
            return loss

        trainer.training_step = checked

    @staticmethod
    def stop(step: int, what: str):
        raise TrainingDiverged(f"training stopped at step {step}: {what}; lower training.learning_rate or check the "
                               "data (the last saved checkpoint is kept)")

    def on_step_end(self, args, state, control, **kwargs):
        done = state.global_step >= state.max_steps
        if self.pending is None or not (control.should_log or control.should_save or control.should_evaluate or done):
            return
        bad, self.pending = bool(self.pending.item()), None  # the one host-device sync, at most once per log/save
        if bad:
            self.stop(state.global_step, f"the training loss became NaN or infinite after step {self.checked_step}")
        self.checked_step = state.global_step


class StopSignals(TrainerCallback):
    """SIGTERM (pre-emption) and Ctrl-C (SIGINT): finish the current step, then stop training.

    SIGTERM always saves a checkpoint; Ctrl-C saves one when checkpoints can resume (`save_resumable`, i.e.
    training.save_only_model=false). A second Ctrl-C stops at once (KeyboardInterrupt).
    """

    def __init__(self, save_resumable: bool):
        self.save_resumable = save_resumable
        self.received = None  # the first stop signal, or None
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: stop now, mid-step
        self.received = self.received or signum

    def on_step_end(self, args, state, control, **kwargs):
        if self.received is not None:
            control.should_save = self.received == signal.SIGTERM or self.save_resumable
            control.should_training_stop = True
        return control

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def stopped(self, step: int, output_dir: str, newest_checkpoint, resume_command: str) -> RunStopped:
        """The error that ends a run stopped by a signal: which step, what was saved, how to continue."""
        if self.received == signal.SIGTERM:
            return Preempted(f"SIGTERM: stopped at step {step} after saving a checkpoint in {output_dir}; "
                             f"continue with: {resume_command}")
        if newest_checkpoint is None:
            return Interrupted(f"Ctrl-C: stopped at step {step}; no complete checkpoint to resume from "
                               "(training.save_only_model=true saves weights only); set "
                               "training.save_only_model=false to make checkpoints resumable")
        return Interrupted(f"Ctrl-C: stopped at step {step}; newest complete checkpoint: {newest_checkpoint}; "
                           f"continue with: {resume_command}")
