"""The recipe's dataset and the chat each of its rows becomes: system_prompt as a str.format template over
dataset_columns, sent as one user message (every chat template and API accepts that). With image_columns /
video_columns (a local vision-language model), a row's chat also names its media: {"messages", "media"}, the media
fetched only when the row is asked (fai_rl/inference/local_engine.py)."""
from __future__ import annotations

import hashlib

import datasets

from fai_rl.config.schema import DatasetSpec
from fai_rl.data.loading import load_spec
from fai_rl.errors import ConfigError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SUBJECT_COLUMN = "subject"  # MMLU's: accuracy per subject when the data has it


def kept_columns(recipe, column_names: list) -> list:
    """The input columns written beside the answers: dataset_columns, the ground truth, MMLU's subject."""
    wanted = [*recipe.dataset_columns, *recipe.image_columns, *recipe.video_columns, recipe.ground_truth_column,
              SUBJECT_COLUMN]
    return list(dict.fromkeys(c for c in wanted if c and c in column_names))


def load_rows(recipe) -> list:
    """The dataset's rows (dicts of the kept columns); a missing column or an empty dataset is a ConfigError."""
    spec = DatasetSpec(name=recipe.dataset_name, subset=recipe.dataset_subset, split=recipe.dataset_split,
                       max_samples=recipe.max_samples)
    datasets.disable_progress_bars()  # a config error stays one line
    ds = load_spec(spec)
    needed = {c: "dataset_columns" for c in recipe.dataset_columns}
    if recipe.ground_truth_column:
        needed[recipe.ground_truth_column] = "ground_truth_column"
    for key in ("image_columns", "video_columns"):
        needed.update({c: key for c in getattr(recipe, key)})
    for column, key in needed.items():
        if column not in ds.column_names:
            raise ConfigError(f"dataset '{recipe.dataset_name}' has no column '{column}' ({recipe.key(key)}); its "
                              f"columns are: {', '.join(ds.column_names)}")
    return ds.select_columns(kept_columns(recipe, ds.column_names)).to_list()


def field_text(value, lettered: bool) -> str:
    """A column's value in the prompt: a list of options as `A. ...` lines when `lettered` (MMLU's choices)."""
    if lettered and isinstance(value, list):
        return "\n".join(f"{LETTERS[i]}. {option}" for i, option in enumerate(value))
    return str(value)


def render(recipe, row: dict) -> str:
    """The prompt text of one row."""
    lettered = recipe.task == "mmlu"
    values = {c: field_text(row[c], lettered) for c in recipe.dataset_columns}
    if not recipe.system_prompt:
        return "\n".join(values.values())
    return recipe.system_prompt.format(**values)


def media_name(cell) -> str:
    """A media cell as the journal and the answers table name it: its URL or path, or a digest of its bytes."""
    if isinstance(cell, dict):  # datasets' Image feature: {"bytes", "path"}
        cell = cell.get("bytes") or cell.get("path")
    if isinstance(cell, (bytes, bytearray)):
        return f"bytes:sha256:{hashlib.sha256(cell).hexdigest()[:16]}"
    if isinstance(cell, list):
        return "; ".join(media_name(c) for c in cell)
    return str(cell)


def messages(recipe, row: dict):
    """The chat of one row; with media columns, {"messages": chat, "media": {column: name}} (its journal key)."""
    chat = [{"role": "user", "content": render(recipe, row)}]
    if recipe.media_key is None:
        return chat
    return {"messages": chat, "media": {c: media_name(row[c]) for c in [*recipe.image_columns, *recipe.video_columns]}}


def shown(recipe, row: dict) -> dict:
    """A row as the answers table shows it: media cells by name (no image bytes in the CSV)."""
    media = {*recipe.image_columns, *recipe.video_columns}
    return {c: media_name(v) if c in media and not isinstance(v, str) else v for c, v in row.items()}
