"""Registry of algorithms: every public module or package in this package is one algorithm, named by its module
(the `trainer` an algorithm YAML names); private helpers start with _. What an algorithm provides is written in
fai_rl.algorithms._contract (Algorithm, MemoryProfile, GenerationServer)."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from types import ModuleType

from fai_rl.algorithms._contract import Algorithm, GenerationServer, MemoryProfile, contract_problems, image_text
from fai_rl.errors import ConfigError

__all__ = ["Algorithm", "GenerationServer", "MemoryProfile", "available", "contract_problems", "image_text", "load"]


@lru_cache(maxsize=None)
def available() -> tuple:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")))


@lru_cache(maxsize=None)
def load(trainer: str) -> ModuleType:
    """The algorithm module `trainer`, checked against the contract."""
    if trainer not in available():
        raise ConfigError(f"unknown algorithm.trainer '{trainer}'; valid: {', '.join(available())}")
    module = importlib.import_module(f"{__name__}.{trainer}")
    problems = contract_problems(module)
    if problems:
        raise ConfigError(f"algorithm module {module.__name__} does not meet fai_rl.algorithms._contract: "
                          + "; ".join(problems))
    return module
