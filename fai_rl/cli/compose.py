"""Compose the conf/ tree outside @hydra.main (Hydra's compose API), with what its YAML uses: the resolvers and
the schema's defaults (the config node `schema_defaults`, first in train.yaml's defaults list).

Both are registered when this module is imported, so any process that composes or loads a config (the CLI,
Hydra's submitit jobs, tests) has them.
"""
from __future__ import annotations

import dataclasses
import itertools
import os
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from fai_rl.cli.demo import demo_overrides
from fai_rl.cli.search_path import SEARCHPATH_KEY, ConfTree, shipped_conf_dir
from fai_rl.config.schema import RunConfig
from fai_rl.sweeps.study import sqlite_url, study_seed

CONFIG_NAME = "train"
DEFAULTS_NODE = "schema_defaults"


def claim_dir(path: str) -> str:
    """A new folder at `path`, or `path-2`, `path-3`, ... when taken, created atomically: runs started in the same
    second never share a run dir or a model dir."""
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir()
            return str(candidate)
        except FileExistsError:
            continue


def model_dir(single_run_default: str) -> str:
    """Single run: a claimed folder at the given default; multirun job: <job dir>/model (jobs never share one)."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return os.path.join(HydraConfig.get().runtime.output_dir, "model")
    return claim_dir(single_run_default)


def sweep_group(run_name: str):
    """A sweep's jobs share a tracker group (wandb group, MLflow experiment): '<run_name> sweep <date>/<time>';
    None for a single run."""
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return f"{run_name} sweep {'/'.join(Path(HydraConfig.get().sweep.dir).parts[-2:])}"
    return None


# name -> (resolver, cached): a cached resolver runs once per config (OmegaConf keeps its value), so a folder is
# claimed once however often the key is read
RESOLVERS = {"fai_rl.claim": (claim_dir, True), "fai_rl.model_dir": (model_dir, True),
             "fai_rl.sweep_group": (sweep_group, False),
             "fai_rl.sqlite": (sqlite_url, False), "fai_rl.study_seed": (study_seed, False)}


def schema_defaults() -> dict:
    """Every key of the schema with its default, as a plain dict (not a structured config: fai-rl's own validation
    gives the error messages). `algorithm` is left out: its config group supplies it."""
    defaults = dataclasses.asdict(RunConfig())
    del defaults["algorithm"]
    return defaults


def register_with_hydra() -> None:
    """The resolvers and the schema-defaults node, registered with OmegaConf/Hydra (once per process is enough)."""
    for name, (resolver, cached) in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver, use_cache=cached)
    ConfigStore.instance().store(name=DEFAULTS_NODE, node=schema_defaults())


register_with_hydra()


def compose(overrides, return_hydra_config: bool = False, tree: ConfTree = None) -> DictConfig:
    """conf/train.yaml composed with `overrides`; `tree` adds the user's config dirs (as hydra.searchpath)."""
    overrides = list(overrides) + demo_overrides(overrides)  # the tiny model's demo settings are for it only
    if tree is not None and tree.user_sources:
        overrides = [o for o in overrides if not o.lstrip("+~").startswith(SEARCHPATH_KEY + "=")]
        overrides.append(f"{SEARCHPATH_KEY}=[{','.join(tree.user_sources)}]")
    with initialize_config_dir(config_dir=str(shipped_conf_dir()), version_base="1.3"):
        return hydra_compose(config_name=CONFIG_NAME, overrides=overrides, return_hydra_config=return_hydra_config)

