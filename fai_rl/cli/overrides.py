"""Check command-line overrides against the config tree (shipped and the user's own) and the schema before Hydra
composes them.

Hydra would also refuse them, but with a traceback-like block and no suggestion; here the user gets one line
naming the key, a "did you mean", and the valid choices.
"""
from __future__ import annotations

import dataclasses
import typing

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException

from fai_rl import algorithms
from fai_rl.cli.search_path import ConfTree, from_argv
from fai_rl.config.schema import RunConfig
from fai_rl.config.typed import did_you_mean, unknown_key_error
from fai_rl.errors import ConfigError

FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn",
                    "--config-dir", "-cd", "--info", "-i", "--experimental-rerun"}
HELP_FLAGS = {"--help", "-h", "--hydra-help", "--shell-completion", "-sc", "--info", "-i"}


def override_args(argv: list) -> list:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in FLAGS_WITH_VALUE
        else:
            out.append(arg)
    return out


def _algorithm_fields() -> set:
    names: set = set()
    for trainer in algorithms.available():
        names.update(f.name for f in dataclasses.fields(algorithms.load(trainer).Settings))
    return names


def _check_group(tree: ConfTree, group: str, values: list) -> None:
    options = tree.group_options(group)
    for value in values:
        if group == "tuned" and value in ("null", None):  # Hydra cannot null a group chosen by interpolation
            raise ConfigError("'tuned=null' is not possible (train.yaml picks tuned/<demo>/<data>_<algorithm>); "
                              "use ~tuned to leave the tuned settings out")
        if value not in options and value not in ("null", None):
            raise ConfigError(
                f"unknown {group} '{value}'{did_you_mean(str(value), options)}; "
                f"valid {group} options: {', '.join(options)}"
            )


def _check_key(tree: ConfTree, key: str) -> None:
    parts = key.split(".")
    top = [f.name for f in dataclasses.fields(RunConfig)]
    if parts[0] not in top:
        raise unknown_key_error("", parts[0], top + tree.groups())
    if parts[0] == "algorithm":
        if len(parts) > 1 and parts[1] not in _algorithm_fields():
            raise unknown_key_error("algorithm", parts[1], _algorithm_fields())
        return
    cls = typing.get_type_hints(RunConfig)[parts[0]]
    for depth, part in enumerate(parts[1:], start=1):
        if not dataclasses.is_dataclass(cls):
            return  # inside a list or a scalar: the full validation after composing checks it
        names = [f.name for f in dataclasses.fields(cls)]
        if part not in names:
            raise unknown_key_error(".".join(parts[:depth]), part, names)
        cls = typing.get_type_hints(cls)[part]


def parse(argv: list) -> list:
    """The key=value arguments of a command line, parsed by Hydra's grammar (one-line error when they do not parse)."""
    try:
        return OverridesParser.create().parse_overrides(override_args(argv))
    except OverrideParseException as err:
        raise ConfigError(f"cannot parse the command-line override: {str(err).splitlines()[0]}")


def conf_tree(argv: list) -> ConfTree:
    """The config tree a command line composes from: the shipped conf/ and the user's dirs it names."""
    parse(argv)
    return from_argv(argv, override_args(argv))


def check_overrides(argv: list, tree: ConfTree) -> None:
    if any(arg in HELP_FLAGS for arg in argv):
        return
    parsed = parse(argv)
    for override in parsed:
        key = override.key_or_group
        if key.startswith("hydra") or override.is_delete():
            continue
        group = key.split("/")[0].split("@")[0]
        if group in tree.groups() and "." not in key:
            if override.is_sweep_override():
                values = list(override.sweep_string_iterator())
            else:
                values = [override.get_value_element_as_str()] if override.value() is not None else [None]
            _check_group(tree, key.split("@")[0], values)
        elif not override.is_add():
            _check_key(tree, key)
