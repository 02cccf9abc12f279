"""Compose the conf/ tree outside @hydra.main (Hydra's compose API), with what its YAML uses: the resolvers and
the schema's defaults (the config node `schema_defaults`, first in train.yaml's defaults list).

Both are registered when this module is imported, so any process that composes or loads a config (the CLI,
Hydra's submitit jobs, tests) has them.
"""
from __future__ import annotations

import dataclasses
import os

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from fai_rl.sweeps.study import sqlite_url, study_seed

from .schema import RunConfig
from .search_path import SEARCHPATH_KEY, ConfTree, shipped_conf_dir

CONFIG_NAME = "train"
DEFAULTS_NODE = "schema_defaults"


def model_dir(single_run_default: str) -> str:
    """Single run: the given default; multirun job: <job dir>/model, so jobs never share an output dir."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return os.path.join(HydraConfig.get().runtime.output_dir, "model")
    return single_run_default


RESOLVERS = {"fai_rl.model_dir": model_dir, "fai_rl.sqlite": sqlite_url, "fai_rl.study_seed": study_seed}


def schema_defaults() -> dict:
    """Every key of the schema with its default, as a plain dict (not a structured config: fai-rl's own validation
    gives the error messages). `algorithm` is left out: its config group supplies it."""
    defaults = dataclasses.asdict(RunConfig())
    del defaults["algorithm"]
    return defaults


def register_with_hydra() -> None:
    """The resolvers and the schema-defaults node, registered with OmegaConf/Hydra (once per process is enough)."""
    for name, resolver in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)
    ConfigStore.instance().store(name=DEFAULTS_NODE, node=schema_defaults())


register_with_hydra()


def compose(overrides, return_hydra_config: bool = False, tree: ConfTree = None) -> DictConfig:
    """conf/train.yaml composed with `overrides`; `tree` adds the user's config dirs (as hydra.searchpath)."""
    overrides = list(overrides)
    if tree is not None and tree.user_sources:
        overrides = [o for o in overrides if not o.lstrip("+~").startswith(SEARCHPATH_KEY + "=")]
        overrides.append(f"{SEARCHPATH_KEY}=[{','.join(tree.user_sources)}]")
    with initialize_config_dir(config_dir=str(shipped_conf_dir()), version_base="1.3"):
        return hydra_compose(config_name=CONFIG_NAME, overrides=overrides, return_hydra_config=return_hydra_config)

