"""<run_dir>/config.yaml: the validated config as plain YAML (secrets removed). The front process writes it;
every launched rank reads it, so all ranks share one config and one run dir. The secrets themselves reach the
launched ranks through their environment (FAI_RL_SECRET_FIELDS), never through a file."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from omegaconf import OmegaConf

from fai_rl.config.run_files import RunFiles
from fai_rl.config.schema import RunConfig
from fai_rl.config.secrets import redact
from fai_rl.config.validate import validate
from fai_rl.errors import ConfigError

SECRET_FIELDS_ENV = "FAI_RL_SECRET_FIELDS"


def write_resolved_config(run: RunConfig) -> Path:
    path = RunFiles(Path(run.run_dir)).config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(redact(dataclasses.asdict(run)))))
    return path


def secret_fields(run: RunConfig) -> dict:
    """{SECRET_FIELDS_ENV: JSON of [path, value] for every setting config.yaml holds redacted}, for the environment
    of the launched ranks (and only there: never printed)."""
    fields = _differences(dataclasses.asdict(run), redact(dataclasses.asdict(run)), [])
    return {SECRET_FIELDS_ENV: json.dumps(fields)} if fields else {}


def _differences(original, redacted, path: list) -> list:
    if isinstance(original, dict):
        return [d for k in original for d in _differences(original[k], redacted[k], [*path, k])]
    if isinstance(original, list):
        return [d for i, v in enumerate(original) for d in _differences(v, redacted[i], [*path, i])]
    return [[path, original]] if original != redacted else []


def load_run(run_dir: str) -> RunConfig:
    path = RunFiles(Path(run_dir)).config
    if not path.exists():
        raise ConfigError(f"'{path}' does not exist; a worker needs the resolved config the front process writes")
    tree = OmegaConf.to_container(OmegaConf.load(path))
    for keys, value in json.loads(os.environ.get(SECRET_FIELDS_ENV, "[]")):
        node = tree
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return validate(OmegaConf.create(tree))
