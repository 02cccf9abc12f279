"""Never overwrite a finished model by accident."""
from __future__ import annotations

from pathlib import Path

from fai_rl.config.errors import ConfigError

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
