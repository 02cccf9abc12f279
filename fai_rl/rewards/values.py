"""What a reward returns: one number (or None, "not applicable") per completion; anything else is named."""
from __future__ import annotations

import numbers
from typing import Any

from fai_rl.errors import ConfigError


def check_values(name: str, values: Any, expected: int) -> list:
    if hasattr(values, "tolist"):  # numpy arrays, torch tensors
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"reward '{name}' returned {type(values).__name__} {values!r:.60}; "
                          f"it must return a list of {expected} numbers, one per completion")
    if len(values) != expected:
        raise ConfigError(f"reward '{name}' returned {len(values)} values for {expected} completions; "
                          "it must return one number (or None) per completion")
    for i, value in enumerate(values):
        if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, str)):
            raise ConfigError(f"reward '{name}' returned a non-number at position {i}: {value!r:.60} "
                              f"({type(value).__name__}); rewards must be numbers (or None to skip a completion)")
    return [None if v is None else float(v) for v in values]
