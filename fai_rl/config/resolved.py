"""<run_dir>/config.yaml: the validated config as plain YAML (secrets removed). The front process writes it;
every launched rank reads it, so all ranks share one config and one run dir."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from omegaconf import OmegaConf

from fai_rl.config.run_files import RunFiles
from fai_rl.config.schema import RunConfig
from fai_rl.config.secrets import redact
from fai_rl.config.validate import validate
from fai_rl.errors import ConfigError


def write_resolved_config(run: RunConfig) -> Path:
    path = RunFiles(Path(run.run_dir)).config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(redact(dataclasses.asdict(run)))))
    return path


def load_run(run_dir: str) -> RunConfig:
    path = RunFiles(Path(run_dir)).config
    if not path.exists():
        raise ConfigError(f"'{path}' does not exist; a worker needs the resolved config the front process writes")
    return validate(OmegaConf.load(path))
