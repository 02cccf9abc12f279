"""The run's copy in object storage (upload.url): where it lives, its complete checkpoints, and fetching the newest
one onto a fresh machine so training.resume=auto continues there. Light: fsspec only, no torch."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from fai_rl.errors import ConfigError
from fai_rl.storage.checkpoint_dirs import CHECKPOINT, MARKER, complete_checkpoints
from fai_rl.storage.remote import join, open_url

log = logging.getLogger("fai_rl")


def remote_run(upload, output_dir: str) -> tuple:
    """(filesystem, path) of the run's folder: <upload.url>/<name of training.output_dir> (`upload`: the upload
    section)."""
    return open_url(join(upload.url, Path(output_dir).name), upload.endpoint_url, upload.region, "upload.url")


def remote_complete_steps(fs, root: str) -> list:
    """Steps of the remote checkpoints whose completion marker arrived (it is uploaded last), oldest first."""
    steps = []
    for entry in fs.ls(root, detail=False) if fs.exists(root) else []:
        match = CHECKPOINT.match(entry.rstrip("/").rsplit("/", 1)[-1])
        if match and fs.exists(join(entry, MARKER)):
            steps.append(int(match.group(1)))
    return sorted(steps)


def fetch_newest_checkpoint(upload, output_dir: str) -> Path | None:
    """When the output dir has no complete checkpoint, download the newest complete remote one into it."""
    if complete_checkpoints(output_dir):
        return None
    fs, root = remote_run(upload, output_dir)
    try:
        steps = remote_complete_steps(fs, root)
    except Exception as err:  # noqa: BLE001 - every client raises its own kinds
        raise ConfigError(f"'upload.url': cannot list the run's checkpoints in {root}: {type(err).__name__}: {err}")
    if not steps:
        return None
    name = f"checkpoint-{steps[-1]}"
    target = Path(output_dir) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        remote = join(root, name)
        for file in fs.find(remote):
            local = scratch / file[len(remote):].lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(file, str(local))
        shutil.rmtree(target, ignore_errors=True)  # an incomplete local copy of the same step
        os.rename(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("fetched %s from %s (no complete checkpoint in %s)", name, root, output_dir)
    print(f"fai-rl: resuming from {name} fetched from {root}", flush=True)
    return target
