"""Never overwrite a finished model by accident."""
from __future__ import annotations

import shutil
from pathlib import Path

from fai_rl.config.errors import ConfigError

GB = 1e9
MODEL_FILES = ("model.safetensors", "model.safetensors.index.json", "adapter_model.safetensors")


def holds_finished_model(folder: Path) -> bool:
    return (folder / "config.json").exists() and any((folder / f).exists() for f in MODEL_FILES) or \
        (folder / "adapter_model.safetensors").exists()


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"training.output_dir '{output_dir}' exists and is not a folder")
    if holds_finished_model(folder) and not overwrite:
        raise ConfigError(
            f"training.output_dir '{output_dir}' already holds a finished model; choose another output_dir or "
            "run_name, or set training.overwrite_output_dir=true to replace it"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"training.output_dir '{output_dir}' cannot be written: {err.strerror}")


def check_free_space(output_dir: str, needed, headroom_gb: float) -> None:
    """Refuse to start when the output_dir's filesystem lacks room for a checkpoint and the final model (`needed`
    bytes, None when the model's size is unknown) plus training.disk_headroom_gb."""
    free = shutil.disk_usage(output_dir).free
    want = (needed or 0) + headroom_gb * GB
    if free < want:
        size = f"a checkpoint and the final model need about {needed / GB:.3g} GB, plus " if needed else ""
        raise ConfigError(f"training.output_dir '{output_dir}' is on a filesystem with {free / GB:.2f} GB free; "
                          f"{size}training.disk_headroom_gb={headroom_gb:g} GB: free some space, choose another "
                          "output_dir, or lower training.disk_headroom_gb")
