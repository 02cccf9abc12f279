"""Reward functions for online RL: built-in ones by short name, or any importable callable by dotted path.

`algorithm.rewards` is a list; each entry is a name or path (`accuracy`, `mypkg.rewards.score`) or a mapping
`{_target_: name-or-path, weight: 0.5, <keyword>: <value>, ...}` whose other keys are bound as keyword arguments.
`reward_model:<folder | hub id | run:NAME>` scores with a learned reward model (fai_rl.rewards.reward_model; its
mapping form takes batch_size and max_length).
Resolving imports the callable, so a reward that cannot be imported fails while the config is validated. Each
resolved reward is guarded (fai_rl.rewards.guarded): an exception, a hang past the entry's `timeout_s`, a wrong
number of values or a non-number stops the run with one line naming it; `parallel: N` spreads it over N processes.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

from fai_rl.errors import ConfigError
from fai_rl.rewards.builtin import BUILTIN
from fai_rl.rewards.guarded import GuardedReward
from fai_rl.rewards.reward_model import is_reward_model, reward_model


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


def _guard_settings(kwargs: dict, where: str) -> dict:
    """timeout_s and parallel, taken out of a reward entry's keyword arguments and checked."""
    guard = {"timeout_s": kwargs.pop("timeout_s", None), "parallel": kwargs.pop("parallel", None)}
    for key, value in guard.items():
        if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, bool) or value <= 0):
            raise ConfigError(f"'{where}.{key}' must be a number > 0, got {value!r}")
    if guard["parallel"] is not None and guard["parallel"] != int(guard["parallel"]):
        raise ConfigError(f"'{where}.parallel' must be a whole number of processes, got {guard['parallel']!r}")
    return guard


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


def resolve(entries: list, where: str = "algorithm.rewards") -> list:
    """Config entries -> [Reward]: imported, keyword arguments bound, wrapped for call-time checks."""
    if not entries:
        raise ConfigError(f"'{where}' is empty; give at least one reward, e.g. [accuracy] "
                          f"(built-in: {', '.join(BUILTIN)})")
    rewards, seen = [], {}
    for i, entry in enumerate(entries):
        target, weight, kwargs = _split_entry(entry, f"{where}.{i}")
        guard = _guard_settings(kwargs, f"{where}.{i}")
        if is_reward_model(target):  # a learned reward: its settings go to the scorer, not bound as arguments
            fn, kwargs = reward_model(target, kwargs, f"{where}.{i}"), {}
        else:
            fn = _load(target, f"{where}.{i}")
            _check_signature(fn, target, kwargs, f"{where}.{i}")
        base = target if target in BUILTIN else getattr(fn, "__name__", target.rsplit(".", 1)[-1])
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}_{seen[base]}"
        bound = functools.partial(fn, **kwargs) if kwargs else fn
        rewards.append(Reward(name, weight, GuardedReward(name, bound, **guard),
                              tuple(getattr(fn, "required_columns", ()))))
    return rewards


def reward_entries(entries: list, where: str = "algorithm.rewards") -> list:
    """The model locations of the learned rewards (reward_model:...) among `entries`, checked."""
    found = []
    for i, entry in enumerate(entries):
        target = entry if isinstance(entry, str) else entry.get("_target_", "") if isinstance(entry, dict) else ""
        if is_reward_model(str(target)):
            found.append(reward_model(str(target), {}, f"{where}.{i}").path)
    return found
