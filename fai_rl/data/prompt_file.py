"""Prompts from a file for fai-rl-generate: .txt (one prompt a line) or any dataset file / builtin:<name>."""
from __future__ import annotations

from pathlib import Path

from fai_rl.config.schema import DatasetSpec
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.errors import ConfigError


def read_prompts(source: str, column: str, split: str, limit=None) -> list:
    if source.endswith(".txt"):
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"prompt file {source} does not exist")
        prompts = [line for line in path.read_text().splitlines() if line.strip()]
    else:
        spec = DatasetSpec(name=source, split=split, prompt_column=column)
        ds = load_spec(spec)
        require_columns(ds, spec, {"prompt_column": column})
        prompts = list(ds[column])
    if not prompts:
        raise ConfigError(f"no prompts in {source}")
    return prompts[:limit] if limit else prompts
