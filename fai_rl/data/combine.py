"""Concatenate the datasets of one list (data.datasets or data.eval_datasets) whatever file formats they came from.

The same column reads as `string` from JSON Lines and as `large_string` from CSV or Parquet, as int64 from one file
and text from another, or as chat messages whose fields come in another order: each shared column is cast to one
type first (text to string; numbers that differ to float64; scalars of mixed kinds to text), so a list may mix
.jsonl, .json, .csv and .parquet files. Columns that cannot share a type are named with their files.
"""
from __future__ import annotations

import datasets
from datasets import LargeList, List, Value

from fai_rl.errors import ConfigError

NUMBERS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64")


def plain(feature):
    """The feature with large_string as string and large lists as lists, all the way down."""
    if isinstance(feature, Value):
        return Value("string") if feature.dtype == "large_string" else feature
    if isinstance(feature, dict):
        return {key: plain(value) for key, value in sorted(feature.items())}
    if isinstance(feature, (List, LargeList)):
        return List(plain(feature.feature))
    return feature


def _common(features: list):
    """The one type a column of these features takes, or None when there is none."""
    if all(f == features[0] for f in features):
        return features[0]
    if all(isinstance(f, Value) for f in features):
        numbers = all(f.dtype in NUMBERS for f in features)
        return Value("float64") if numbers else Value("string")
    return None


def _describe(feature) -> str:
    if isinstance(feature, Value):
        return feature.dtype
    if isinstance(feature, dict):
        return "struct of " + ", ".join(feature)
    if isinstance(feature, List):
        return f"list of {_describe(feature.feature)}"
    return type(feature).__name__


def _cast(part, spec, column: str, target, group: str):
    if part.features[column] == target:
        return part
    try:
        return part.cast_column(column, target)
    except (ValueError, TypeError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise ConfigError(f"{group}: column '{column}' of dataset '{spec.name}' cannot be read as "
                          f"{_describe(target)} like the other datasets' ({str(err).splitlines()[0]}); "
                          "convert it or leave the file out")


def concatenate(parts: list, specs: list, group: str = "data.datasets"):
    """One dataset of `parts` (loaded from `specs`, with the same columns), each column cast to one type."""
    if len(parts) == 1:
        return parts[0]
    for column in parts[0].column_names:
        features = [plain(p.features[column]) for p in parts]
        target = _common(features)
        if target is None:
            kinds = "; ".join(f"{_describe(f)} in '{s.name}'" for f, s in zip(features, specs))
            raise ConfigError(f"{group}: column '{column}' holds different kinds of values ({kinds}); give it "
                              "one form in every file (text, or chat messages [{role, content}, ...])")
        parts = [_cast(p, s, column, target, group) for p, s in zip(parts, specs)]
    return datasets.concatenate_datasets(parts)
