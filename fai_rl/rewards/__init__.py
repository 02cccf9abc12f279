"""Reward functions for online RL: built-in ones by short name, or any importable callable by dotted path.

`algorithm.rewards` is a list; each entry is a name or path (`accuracy`, `mypkg.rewards.score`) or a mapping
`{_target_: name-or-path, weight: 0.5, <keyword>: <value>, ...}` whose other keys are bound as keyword arguments.
Resolving imports the callable, so a reward that cannot be imported fails while the config is validated. Each
resolved reward is wrapped so that a wrong number of values or a non-number fails at its first call, naming it.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

from fai_rl.config.errors import ConfigError

from .builtin import BUILTIN


@dataclass
class Reward:
    name: str  # display name: the built-in name or the callable's, as in the logged rewards/<name>/mean
    weight: float
    fn: Callable
    required_columns: tuple = field(default_factory=tuple)


def locate(path: str):
    """Import `pkg.module.attr` (attributes may nest); raise ImportError/AttributeError as Python would."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as err:
            if err.name and not ".".join(parts[:cut]).startswith(err.name):
                raise  # the module exists but one of its own imports is missing
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    return importlib.import_module(path)


def _split_entry(entry: Any, where: str) -> tuple:
    """One config entry -> (target, weight, kwargs)."""
    if isinstance(entry, str):
        return entry, 1.0, {}
    if not isinstance(entry, dict) or "_target_" not in entry:
        raise ConfigError(f"'{where}' must be a reward name or path ({', '.join(BUILTIN)}, or pkg.module.fn) "
                          f"or a mapping with _target_ (and weight, keyword arguments), got {entry!r}")
    kwargs = dict(entry)
    target, weight = kwargs.pop("_target_"), kwargs.pop("weight", 1.0)
    if not isinstance(weight, numbers.Real) or isinstance(weight, bool):
        raise ConfigError(f"'{where}.weight' must be a number, got {weight!r}")
    return str(target), float(weight), kwargs


def _load(target: str, where: str) -> Callable:
    if target in BUILTIN:
        return BUILTIN[target]
    if "." not in target:
        raise ConfigError(f"unknown reward '{target}' ({where}); built-in rewards: {', '.join(BUILTIN)}, "
                          "or give the dotted path of a callable (pkg.module.fn)")
    try:
        fn = locate(target)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"reward '{target}' ({where}) cannot be imported: {type(err).__name__}: {err}")
    if not callable(fn):
        raise ConfigError(f"reward '{target}' ({where}) is a {type(fn).__name__}, not a callable")
    return fn


def _check_signature(fn: Callable, target: str, kwargs: dict, where: str) -> None:
    """TRL passes everything by keyword: the reward needs **kwargs, and each configured keyword a parameter."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return  # some C callables have no signature to check
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        raise ConfigError(f"reward '{target}' ({where}) must accept **kwargs: TRL calls it with prompts, "
                          "completions, completion_ids and every dataset column as keyword arguments")
    named = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in kwargs:
        if key not in named:
            raise ConfigError(f"reward '{target}' ({where}) does not take the keyword argument '{key}'; "
                              f"its parameters: {', '.join(named)}")


class CheckedReward:
    """Calls a reward and checks it returned one number (or None) per completion; TRL would broadcast some errors."""

    def __init__(self, name: str, fn: Callable):
        self.__name__ = name
        self.fn = fn

    def __call__(self, prompts=None, completions=None, **kwargs):
        values = self.fn(prompts=prompts, completions=completions, **kwargs)
        return check_values(self.__name__, values, len(completions))


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


def resolve(entries: list, where: str = "algorithm.rewards") -> list:
    """Config entries -> [Reward]: imported, keyword arguments bound, wrapped for call-time checks."""
    if not entries:
        raise ConfigError(f"'{where}' is empty; give at least one reward, e.g. [accuracy] "
                          f"(built-in: {', '.join(BUILTIN)})")
    rewards, seen = [], {}
    for i, entry in enumerate(entries):
        target, weight, kwargs = _split_entry(entry, f"{where}.{i}")
        fn = _load(target, f"{where}.{i}")
        _check_signature(fn, target, kwargs, f"{where}.{i}")
        base = target if target in BUILTIN else getattr(fn, "__name__", target.rsplit(".", 1)[-1])
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}_{seen[base]}"
        bound = functools.partial(fn, **kwargs) if kwargs else fn
        rewards.append(Reward(name, weight, CheckedReward(name, bound), tuple(getattr(fn, "required_columns", ()))))
    return rewards
