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


def read_prompt_rows(source: str, column: str, split: str, media_columns: list, limit=None) -> list:
    """Rows of the prompt column and the image columns (fai-rl-generate --image-column) of a dataset file."""
    if source.endswith(".txt"):
        raise ConfigError(f"--image-column needs a dataset file (.jsonl/.json/.csv/.parquet), not the text file {source}")
    spec = DatasetSpec(name=source, split=split, prompt_column=column)
    ds = load_spec(spec)
    require_columns(ds, spec, {"prompt_column": column})
    for name in media_columns:
        if name not in ds.column_names:
            raise ConfigError(f"--image-column {name}: {source} has no such column; its columns are: "
                              f"{', '.join(ds.column_names)}")
    rows = ds.select_columns(list(dict.fromkeys([column, *media_columns]))).to_list()
    if not rows:
        raise ConfigError(f"no prompts in {source}")
    return rows[:limit] if limit else rows
