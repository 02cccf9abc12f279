"""The recipe's dataset and the chat each of its rows becomes: system_prompt as a str.format template over
dataset_columns, sent as one user message (every chat template and API accepts that)."""
from __future__ import annotations

import datasets

from fai_rl.config.schema import DatasetSpec
from fai_rl.data.loading import load_spec
from fai_rl.errors import ConfigError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SUBJECT_COLUMN = "subject"  # MMLU's: accuracy per subject when the data has it


def kept_columns(recipe, column_names: list) -> list:
    """The input columns written beside the answers: dataset_columns, the ground truth, MMLU's subject."""
    wanted = [*recipe.dataset_columns, recipe.ground_truth_column, SUBJECT_COLUMN]
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


def messages(recipe, row: dict) -> list:
    return [{"role": "user", "content": render(recipe, row)}]
