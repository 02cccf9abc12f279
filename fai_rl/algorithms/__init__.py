"""Registry of algorithms: every module in this package except `contract`, `grpo_trainer` and `dynamic_sampling` (the
GRPO trainers grpo builds) is one algorithm, named by its module (the `trainer` an algorithm YAML names). What a module
provides is written in fai_rl.algorithms.contract."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from fai_rl.config.errors import ConfigError

from .contract import contract_problems

NOT_ALGORITHMS = {"contract", "grpo_trainer", "dynamic_sampling"}


@lru_cache(maxsize=None)
def available() -> tuple:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__)
                        if not m.name.startswith("_") and m.name not in NOT_ALGORITHMS))


@lru_cache(maxsize=None)
def load(trainer: str) -> ModuleType:
    """The algorithm module `trainer`, checked against the contract."""
    if trainer not in available():
        raise ConfigError(f"unknown algorithm.trainer '{trainer}'; valid: {', '.join(available())}")
    module = importlib.import_module(f"{__name__}.{trainer}")
    problems = contract_problems(module)
    if problems:
        raise ConfigError(f"algorithm module {module.__name__} does not meet fai_rl.algorithms.contract: "
                          + "; ".join(problems))
    return module
