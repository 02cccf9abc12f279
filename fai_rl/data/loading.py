"""Load one dataset spec: builtin:<name> (shipped), a local json/jsonl/csv/parquet file, or a hub dataset."""
from __future__ import annotations

from pathlib import Path

import datasets

from fai_rl.config.paths import BUILTIN_PREFIX, DATA_FILE_FORMATS
from fai_rl.config.schema import DatasetSpec
from fai_rl.data.files import builtin_file, check_jsonl, check_present, check_utf8
from fai_rl.errors import ConfigError
from fai_rl.storage import hub
from fai_rl.storage.cache import cached_copy
from fai_rl.storage.remote import is_remote


def _load_file(path: Path):
    fmt = DATA_FILE_FORMATS[path.suffix.lower()]
    check_present(path)
    if fmt in ("json", "csv"):
        check_utf8(path)
    if path.suffix.lower() == ".jsonl":
        check_jsonl(path)
    try:
        return datasets.load_dataset(fmt, data_files=str(path), split="train")
    except Exception as err:  # datasets raises many types for unreadable files
        raise ConfigError(f"could not read dataset file {path}: {type(err).__name__}: {err}".splitlines()[0])


def _load_hub(spec: DatasetSpec):
    local_only = hub.local_only()
    previous = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = previous or local_only  # no retries against a hub that cannot answer
    try:
        return datasets.load_dataset(spec.name, spec.subset, split=spec.split)
    except Exception as err:
        if local_only:
            raise ConfigError(hub.not_available("the dataset", "data.datasets[].name", spec.name))
        where = spec.name + (f" (subset {spec.subset})" if spec.subset else "") + f", split {spec.split}"
        raise ConfigError(f"could not load dataset {where}: {type(err).__name__}: {err}".splitlines()[0])
    finally:
        datasets.config.HF_HUB_OFFLINE = previous


def load_spec(spec: DatasetSpec):
    """One DatasetSpec -> datasets.Dataset (non-empty, at most max_samples rows)."""
    if spec.name.startswith(BUILTIN_PREFIX):
        ds = _load_file(builtin_file(spec))
    elif is_remote(spec.name):
        ds = _load_file(cached_copy(spec.name, spec.s3_endpoint_url, spec.s3_region, "data.datasets[].name"))
    elif Path(spec.name).suffix.lower() in DATA_FILE_FORMATS:
        ds = _load_file(Path(spec.name).expanduser())
    else:
        ds = _load_hub(spec)
    if len(ds) == 0:
        raise ConfigError(f"dataset '{spec.name}' (split {spec.split}) is empty")
    if spec.dataset_columns:
        missing = [c for c in spec.dataset_columns if c not in ds.column_names]
        if missing:
            raise ConfigError(f"dataset '{spec.name}' has no column(s) {', '.join(missing)} (dataset_columns); its "
                              f"columns are: {', '.join(ds.column_names)}")
        media = [c for c in [*spec.image_columns, *spec.video_columns] if c not in spec.dataset_columns]
        ds = ds.select_columns(list(spec.dataset_columns) + [c for c in media if c in ds.column_names])
    if spec.max_samples is not None and spec.max_samples < len(ds):
        ds = ds.select(range(spec.max_samples))
    return ds


def require_columns(ds, spec: DatasetSpec, columns: dict, group: str = "data.datasets") -> None:
    """columns: {config field: column name}; fail naming the dataset, the column, the field of `group` that named
    it (data.datasets or data.eval_datasets) and the columns the dataset has."""
    for field_name, column in columns.items():
        if column not in ds.column_names:
            raise ConfigError(
                f"dataset '{spec.name}' has no column '{column}' ({group}[].{field_name}); "
                f"its columns are: {', '.join(ds.column_names)}"
            )
