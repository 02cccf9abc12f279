"""Checkpoint folders on disk that can be trusted: marked complete only after every file is written; resume picks
those only.

HF's Trainer writes checkpoint-N/ file by file; a process killed mid-save leaves a folder that looks like a
checkpoint. fai-rl writes `fai_rl_complete.json` into the folder once the save returned, and `resume=auto` only
considers marked folders; unmarked ones are set aside (renamed incomplete-checkpoint-N-<time>) and reported, so checkpoint rotation can never
keep a broken one over the newest complete one. This module only reads, marks and renames folders (no torch):
the front process, the faults harness and the object-storage copy use it; fai_rl.training.checkpoints marks each
checkpoint as a run writes it.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

from fai_rl.errors import ConfigError

MARKER = "fai_rl_complete.json"
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
log = logging.getLogger("fai_rl")


def checkpoint_folders(output_dir) -> list:
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def is_complete(checkpoint: Path) -> bool:
    return (Path(checkpoint) / MARKER).exists()


def complete_checkpoints(output_dir) -> list:
    return [p for p in checkpoint_folders(output_dir) if is_complete(p)]


def set_aside_incomplete(output_dir) -> list:
    """Rename checkpoint folders without the completion marker; returns their new paths."""
    moved = []
    for path in checkpoint_folders(output_dir):
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


def mark_complete(folder: Path, step: int) -> None:
    """Write the completion marker into a checkpoint folder whose files are all written (atomically)."""
    tmp = Path(folder) / (MARKER + ".tmp")
    tmp.write_text(json.dumps({"step": step, "time": time.time()}))
    os.replace(tmp, Path(folder) / MARKER)
