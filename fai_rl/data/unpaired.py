"""Unpaired preference data for KTO: rows of prompt, completion and a boolean label (desirable or not), named by
each dataset's prompt_column / completion_column / label_column; a dataset of preference pairs instead (chosen and
rejected columns, any form fai_rl/data/preference.py reads) gives one desirable and one undesirable row per pair,
side by side.
"""
from __future__ import annotations

from fai_rl.config.schema import DatasetSpec
from fai_rl.data.combine import concatenate
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.data.preference import normalise as normalise_pairs
from fai_rl.errors import ConfigError


def is_paired(ds, spec: DatasetSpec) -> bool:
    columns = ds.column_names
    return spec.label_column not in columns and spec.chosen_column in columns and spec.rejected_column in columns


def _check_labels(ds, spec: DatasetSpec, group: str) -> None:
    wrong = [i for i, value in enumerate(ds["label"]) if not isinstance(value, bool)]
    if wrong:
        raise ConfigError(f"dataset '{spec.name}': {len(wrong)} row(s) have a non-boolean '{spec.label_column}' "
                          f"(first at row {wrong[0]}: {ds[wrong[0]]['label']!r}); {group}[].label_column must "
                          "name a true/false column")


def _unpair(batch: dict) -> dict:
    """Each pair -> its desirable row then its undesirable one (side by side: every eval batch holds both kinds)."""
    rows = {"prompt": [], "completion": [], "label": []}
    for prompt, chosen, rejected in zip(batch["prompt"], batch["chosen"], batch["rejected"]):
        rows["prompt"] += [prompt, prompt]
        rows["completion"] += [chosen, rejected]
        rows["label"] += [True, False]
    return rows


def normalise(ds, spec: DatasetSpec, group: str):
    """One raw dataset -> columns prompt/completion/label."""
    if is_paired(ds, spec):
        pairs = normalise_pairs(ds, spec, group)
        return pairs.map(_unpair, batched=True, remove_columns=pairs.column_names)
    columns = {"prompt_column": spec.prompt_column, "completion_column": spec.completion_column,
               "label_column": spec.label_column}
    require_columns(ds, spec, columns, group)
    ds = ds.select_columns(list(columns.values()))
    ds = ds.rename_columns({c: new for c, new in zip(columns.values(), ("prompt", "completion", "label")) if c != new})
    _check_labels(ds, spec, group)
    return ds


def load_unpaired_data(specs: list, group: str = "data.datasets"):
    """All specs of one split (`group`: data.datasets or data.eval_datasets), normalised and combined."""
    return concatenate([normalise(load_spec(spec), spec, group) for spec in specs], specs, group)
