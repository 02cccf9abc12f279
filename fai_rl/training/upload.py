"""Copies of the run in object storage, made in the background: every complete checkpoint (its completion marker
last, so a half-uploaded checkpoint is never taken for a complete one) and the final model with its card.

Uploads retry with a doubling wait; a failure is logged and reported in summary.json, and fails the run only with
upload.required. save_total_limit applies to the remote checkpoints too; delete_local_after_upload deletes a
local checkpoint only once every file of it is verified in the store.
"""
from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from pathlib import Path

from transformers import TrainerCallback

from fai_rl.config.schema import RunConfig
from fai_rl.storage.checkpoint_dirs import MARKER
from fai_rl.storage.remote import join
from fai_rl.storage.remote_checkpoints import remote_complete_steps, remote_run

log = logging.getLogger("fai_rl")
FIRST_WAIT_S = 1.0


class Uploader:
    def __init__(self, run: RunConfig):
        self.settings = run.upload
        self.keep = run.training.save_total_limit
        self.fs, self.root = remote_run(run.upload, run.training.output_dir)
        self.uploaded, self.failed = [], []
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="fai-rl-upload", daemon=True)
        self._thread.start()

    def checkpoint(self, folder: Path) -> None:
        self._queue.put(("checkpoint", Path(folder)))

    def final_model(self, output_dir: Path) -> None:
        self._queue.put(("final model", Path(output_dir)))

    def finish(self) -> dict:
        """Wait for every queued upload; what was uploaded and what failed."""
        self._queue.put(None)
        self._thread.join()
        return {"url": join(self.settings.url, self.root.rsplit("/", 1)[-1]), "uploaded": self.uploaded,
                "failed": self.failed}

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, folder = item
            error = None
            for attempt in range(self.settings.retries + 1):
                try:
                    self._upload(kind, folder)
                    self.uploaded.append(folder.name if kind == "checkpoint" else kind)
                    break
                except Exception as err:  # noqa: BLE001 - every client raises its own kinds
                    error = f"{type(err).__name__}: {err}".splitlines()[0]
                    if attempt < self.settings.retries:
                        time.sleep(FIRST_WAIT_S * 2 ** attempt)
            else:
                log.warning("upload of %s %s failed after %d attempts: %s", kind, folder, self.settings.retries + 1,
                            error)
                self.failed.append({"what": f"{kind} {folder.name}", "error": error})

    def _put(self, files: list, local_root: Path, remote_root: str) -> None:
        for file in files:
            remote = join(remote_root, str(file.relative_to(local_root)))
            self.fs.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)  # a local or mounted store needs folders
            self.fs.put_file(str(file), remote)
            if self.fs.size(remote) != file.stat().st_size:
                raise OSError(f"{remote} has {self.fs.size(remote)} bytes, the local file {file.stat().st_size}")

    def _upload(self, kind: str, folder: Path) -> None:
        if kind == "final model":
            files = [f for f in folder.iterdir() if f.is_file()]  # the model, tokenizer and card; no checkpoints
            self._put(files, folder, self.root)
            return
        remote = join(self.root, folder.name)
        files = sorted(f for f in folder.rglob("*") if f.is_file() and f.name != MARKER)
        self._put(files, folder, remote)
        self._put([folder / MARKER], folder, remote)  # last: only now is the remote checkpoint complete
        self._rotate()
        if self.settings.delete_local_after_upload:
            shutil.rmtree(folder, ignore_errors=True)

    def _rotate(self) -> None:
        if not self.keep:
            return
        for step in remote_complete_steps(self.fs, self.root)[:-self.keep]:
            self.fs.rm(join(self.root, f"checkpoint-{step}"), recursive=True)


class UploadCheckpoints(TrainerCallback):
    """After a checkpoint is marked complete, queue its upload (rank 0); add it after MarkCheckpointComplete."""

    def __init__(self, uploader: Uploader):
        self.uploader = uploader

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and (folder / MARKER).exists():
            self.uploader.checkpoint(folder)
