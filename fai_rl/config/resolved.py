"""<run_dir>/config.yaml: the validated config as plain YAML (secrets removed). The front process writes it;
every launched rank reads it, so all ranks share one config and one run dir."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from omegaconf import OmegaConf

from .errors import ConfigError
from .schema import RunConfig
from .secrets import redact
from .validate import validate

FILE_NAME = "config.yaml"


def write_resolved_config(run: RunConfig) -> Path:
    path = Path(run.run_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(redact(dataclasses.asdict(run)))))
    return path


def load_run(run_dir: str) -> RunConfig:
    path = Path(run_dir) / FILE_NAME
    if not path.exists():
        raise ConfigError(f"'{path}' does not exist; a worker needs the resolved config the front process writes")
    return validate(OmegaConf.load(path))
