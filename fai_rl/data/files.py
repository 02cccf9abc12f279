"""The checks a dataset file passes before anything reads it, light (no datasets, no torch) so the front process
runs the cheap ones before it loads the libraries: a built-in dataset and split that exist, a local file that
exists and is not empty; and, while loading, UTF-8 text and well-formed JSON lines naming the bad line."""
from __future__ import annotations

import json
from pathlib import Path

from fai_rl.config.paths import BUILTIN_PREFIX, DATA_FILE_FORMATS
from fai_rl.config.schema import DatasetSpec
from fai_rl.errors import ConfigError
from fai_rl.storage.remote import is_remote

BUNDLED = Path(__file__).resolve().parent / "bundled"


def builtin_names() -> list:
    return sorted(p.name for p in BUNDLED.iterdir() if p.is_dir() and _split_files(p))


def _split_files(folder: Path) -> list:
    """A bundled dataset's splits: <split>.jsonl, or <split>.parquet for one holding image bytes."""
    return sorted(folder.glob("*.jsonl")) + sorted(folder.glob("*.parquet"))


def builtin_file(spec: DatasetSpec) -> Path:
    name = spec.name[len(BUILTIN_PREFIX):]
    if name not in builtin_names():
        raise ConfigError(f"unknown built-in dataset '{spec.name}'; valid: "
                          + ", ".join(BUILTIN_PREFIX + n for n in builtin_names()))
    files = {p.stem: p for p in _split_files(BUNDLED / name)}
    path = files.get(spec.split)
    if path is None:
        splits = sorted(files)
        raise ConfigError(f"built-in dataset '{spec.name}' has no split '{spec.split}'; valid: {', '.join(splits)}")
    return path


def check_utf8(path: Path) -> None:
    """Fail on the first byte that is not UTF-8, naming its line and byte offset (text formats only)."""
    offset = 0
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ConfigError(f"dataset file {path}: line {number} (byte offset {offset + err.start}) is not "
                                  f"UTF-8 text (byte 0x{line[err.start]:02x}); {path.suffix} files must be "
                                  "UTF-8 encoded: convert it (e.g. iconv -t UTF-8) or give a .parquet file")
            offset += len(line)


def check_jsonl(path: Path) -> None:
    """Fail on the first malformed line with its number (datasets' own error does not say where)."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f"dataset file {path}: line {number} is not valid JSON ({err.msg})")
            if not isinstance(row, dict):
                raise ConfigError(f"dataset file {path}: line {number} is not a JSON object")


def local_file(spec: DatasetSpec):
    """The file a spec reads without a network: a built-in dataset's split or a local data file; None for object
    storage and hub datasets."""
    if spec.name.startswith(BUILTIN_PREFIX):
        return builtin_file(spec)
    if not is_remote(spec.name) and Path(spec.name).suffix.lower() in DATA_FILE_FORMATS:
        return Path(spec.name).expanduser()
    return None


def check_present(path: Path) -> None:
    if not path.exists():
        raise ConfigError(f"dataset file {path} does not exist")
    with open(path, "rb") as f:
        head = f.read(65536)
    if not head.strip():
        raise ConfigError(f"dataset file {path} is empty")
