"""The tiny model's demo settings apply to the tiny model only.

conf/demo/tiny.yaml (learning rate, batch, steps) and conf/tuned/tiny/ (each bundled dataset's short lengths, each
bundled task's tuning) are what the random ~115k-parameter model needs to learn in seconds on CPU; model=tiny, the
default, selects them (demo=tiny). Every other model starts from the schema's real-model defaults (demo=none). A
command line that keeps model=tiny but names another model in model.base_model_name (a hub id, s3://, a folder of
another architecture) gets demo=none added here, so those values never reach a real model; a folder or run:NAME of
a model trained from the tiny one keeps them.
"""
from __future__ import annotations

from fai_rl.cli.overrides import parse
from fai_rl.errors import ConfigError
from fai_rl.models.shape import is_tiny_model

NO_DEMO = "demo=none"


def demo_overrides(argv: list) -> list:
    """[demo=none] when the command line names a model other than the tiny one and chooses no demo itself; else []."""
    named = None
    for override in parse(argv):
        key = override.key_or_group
        if key == "demo" or (key == "model" and not override.is_sweep_override()):
            return []  # the user chose; a model group other than tiny selects no demo
        if key == "model.base_model_name" and not override.is_sweep_override() and override.value() is not None:
            named = str(override.value())  # the parsed value: quotes removed
    if named is None:
        return []
    try:
        return [] if is_tiny_model(named) else [NO_DEMO]
    except ConfigError:
        return []  # e.g. run:NAME with no finished model yet: validation names it, whatever the defaults
