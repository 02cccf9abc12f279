"""Registry of algorithms: every module in this package is one algorithm.

A module defines `Settings` (a dataclass extending `AlgorithmConfig`, its hyperparameters), optionally
`check(run)` for cross-field validation, and `build_trainer(run, model, tokenizer, train_ds, eval_ds, args)`.
Module top levels import no torch/trl, so the registry is cheap to read while validating a config.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from fai_rl.config.errors import ConfigError


@lru_cache(maxsize=None)
def available() -> tuple:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


def load(trainer: str) -> ModuleType:
    if trainer not in available():
        raise ConfigError(f"unknown algorithm.trainer '{trainer}'; valid: {', '.join(available())}")
    return importlib.import_module(f"{__name__}.{trainer}")
