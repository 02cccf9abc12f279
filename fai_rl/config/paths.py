"""Paths a config names, checked without loading anything: the cache folder and a local model folder."""
from __future__ import annotations

from pathlib import Path

from fai_rl.errors import ConfigError
from fai_rl.storage.remote import is_remote

BUILTIN_PREFIX = "builtin:"
DATA_FILE_FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}  # suffix -> loader
RUN_PREFIX = "run:"  # run:<run_name> = the newest finished model of that run name
MODELS_ROOT = Path("models")  # where single runs keep their models by default: models/<run_name>/<time>/


def check_model_name(name: str) -> str:
    """A local-looking name must be a saved model (or adapter) folder; a hub name passes as it is."""
    if is_remote(name):
        return name
    path = Path(name).expanduser()
    looks_local = name.startswith((".", "/", "~")) or path.exists()
    if looks_local:
        if not path.is_dir():
            raise ConfigError(f"model.base_model_name '{name}' is not a folder (a model folder holds config.json)")
        if not (path / "config.json").exists() and not (path / "adapter_config.json").exists():
            raise ConfigError(f"model.base_model_name '{name}' has no config.json; it is not a saved model folder")
    return str(path) if looks_local else name


def newest_run_model(reference: str, root: Path = MODELS_ROOT) -> str:
    """`run:<run_name>` -> the newest finished model under models/<run_name>/ (by when its weights were written),
    so a later stage starts from an earlier one without copying a timestamped path."""
    run_name = reference[len(RUN_PREFIX):].strip()
    folder = root / run_name
    finished = [p for p in folder.iterdir() if p.is_dir() and holds_finished_model(p)] if folder.is_dir() else []
    if not finished:
        others = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise ConfigError(f"model.base_model_name '{reference}': no finished model under {folder}/ (where runs named "
                          f"'{run_name}' save theirs by default); run names there: {', '.join(others) or 'none'}")
    newest = max(finished, key=lambda p: max(f.stat().st_mtime for f in p.iterdir() if f.suffix == ".safetensors"))
    return str(newest.resolve())


MODEL_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors")


def holds_finished_model(folder: Path) -> bool:
    return (folder / "config.json").exists() and any((folder / f).exists() for f in MODEL_FILES) or \
        (folder / "adapter_model.safetensors").exists()
