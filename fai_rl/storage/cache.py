"""Remote datasets and models (s3://bucket/file.jsonl, s3://bucket/model/) copied once into the local cache.

A copy appears whole or not at all: it is downloaded into a temporary folder beside its place and renamed there,
so a download that was cut off is never taken for the data or the model.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from fai_rl.errors import ConfigError
from fai_rl.storage.remote import open_url


def cache_dir() -> Path:
    """Where fai-rl keeps what it builds (the tiny model, DeepSpeed's compiled extensions): FAI_RL_CACHE, else
    ~/.cache/fai-rl."""
    return Path(os.environ.get("FAI_RL_CACHE", Path.home() / ".cache" / "fai-rl"))


def cached_copy(url: str, endpoint_url: str | None, region: str | None, where: str) -> Path:
    """The local copy of the file or folder at `url`, downloaded on first use."""
    key = hashlib.sha256(f"{url}|{endpoint_url}|{region}".encode()).hexdigest()[:16]
    name = url.rstrip("/").rsplit("/", 1)[-1] or "object"
    target = cache_dir() / "object-storage" / key / name
    if target.exists():
        return target
    fs, path = open_url(url, endpoint_url, region, where)
    try:
        is_folder = fs.isdir(path)
        files = fs.find(path) if is_folder else [path]
        if not is_folder and not fs.exists(path):
            raise FileNotFoundError(url)
    except Exception as err:  # noqa: BLE001 - every client raises its own kinds
        raise ConfigError(f"'{where}' '{url}' cannot be read: {type(err).__name__}: {err}".splitlines()[0])
    if not files:
        raise ConfigError(f"'{where}' '{url}' is an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        for remote in files:
            local = scratch / name / remote[len(path):].lstrip("/") if is_folder else scratch / name
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(remote, str(local))
        try:
            os.rename(scratch / name, target)
        except OSError:
            if not target.exists():  # another process finished the same download first: use theirs
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
