"""Paths a config names, checked without loading anything: the cache folder and a local model folder."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

BUILTIN_PREFIX = "builtin:"


def cache_dir() -> Path:
    """Where fai-rl keeps what it builds (the tiny model, DeepSpeed's compiled extensions): FAI_RL_CACHE, else
    ~/.cache/fai-rl."""
    return Path(os.environ.get("FAI_RL_CACHE", Path.home() / ".cache" / "fai-rl"))


def check_model_name(name: str) -> str:
    """A local-looking name must be a saved model (or adapter) folder; a hub name passes as it is."""
    path = Path(name).expanduser()
    looks_local = name.startswith((".", "/", "~")) or path.exists()
    if looks_local:
        if not path.is_dir():
            raise ConfigError(f"model.base_model_name '{name}' is not a folder (a model folder holds config.json)")
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            raise ConfigError(f"model.base_model_name '{name}' has no config.json; it is not a saved model folder")
    return str(path) if looks_local else name
