"""Turn a plain dict into a typed dataclass, rejecting unknown keys and wrong types with clear messages."""
from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, Literal, Union

from fai_rl.errors import ConfigError

MISSING = "???"


def did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key_error(path: str, key: str, options) -> ConfigError:
    where = f"{path}.{key}" if path else key
    valid = ", ".join(sorted(options))
    return ConfigError(f"unknown key '{where}'{did_you_mean(key, options)}; valid keys here: {valid}")


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is Union:
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + " or null"
    if origin in (list, typing.List):
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true/false", str: "a string"}.get(tp, str(tp))


def coerce(value: Any, tp, path: str) -> Any:
    """Check (and gently coerce, e.g. '3e-4' -> 3e-4) one value against a type annotation."""
    origin = typing.get_origin(tp)
    if origin is Union:
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, path)
            except ConfigError as err:
                errors.append(err)
        raise ConfigError(f"'{path}' must be {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        choices = typing.get_args(tp)
        for choice in choices:
            if value == choice and type(value) is type(choice):
                return choice
            if isinstance(choice, int) and isinstance(value, str) and value.strip() == str(choice):
                return choice
        raise ConfigError(f"'{path}' must be {_type_name(tp)}, got {value!r}")
    if origin in (list, typing.List):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"'{path}' must be {_type_name(tp)}, got {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [coerce(v, item_tp, f"{path}.{i}") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"'{path}' must be a mapping of {tp.__name__} fields, got {value!r}")
        return build(tp, value, path)
    if tp is Any:
        return value
    if value is None:
        raise ConfigError(f"'{path}' must be {_type_name(tp)}, got null")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"'{path}' must be true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"'{path}' must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"'{path}' must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"'{path}' must be a string, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"'{path}' must be {_type_name(tp)}, got {value!r}")


def build(cls, data: dict, path: str = ""):
    """Build dataclass `cls` from `data`; every key must be a field, every value of the field's type."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise unknown_key_error(path, str(key), names)
    kwargs = {}
    for name in names:
        if name not in data:
            continue
        where = f"{path}.{name}" if path else name
        value = data[name]
        if value == MISSING:
            raise ConfigError(f"'{where}' is required but was not set")
        kwargs[name] = coerce(value, hints[name], where)
    obj = cls(**kwargs)
    for f in dataclasses.fields(cls):
        if getattr(obj, f.name) == MISSING:
            where = f"{path}.{f.name}" if path else f.name
            raise ConfigError(f"'{where}' is required but was not set")
    return obj


def field_names(cls) -> list:
    return [f.name for f in dataclasses.fields(cls)]


def field_type(cls, name: str):
    return typing.get_type_hints(cls)[name]
