"""Run a Hydra app (fai-rl, fai-rl-eval) over the config tree: overrides checked first (one line, exit 2), the
shipped conf/ plus the user's own dirs (--config-dir, hydra.searchpath), and --help without Hydra's cost."""
from __future__ import annotations

import sys
from typing import Callable

import hydra
from omegaconf import DictConfig

from fai_rl.cli import help
from fai_rl.cli.compose import CONFIG_NAME, register_with_hydra
from fai_rl.cli.entry import fail
from fai_rl.cli.overrides import HELP_FLAGS, check_overrides, conf_tree
from fai_rl.cli.search_path import shipped_conf_dir
from fai_rl.errors import ConfigError


def run_hydra(task: Callable[[DictConfig], object], prog: str, usage: str = None, sections: tuple = None) -> None:
    """Compose the command line with Hydra and call `task(cfg)` (once, or per job of a multirun). A config that
    Hydra itself refuses, before the task ran, exits with 2 like fai-rl's own config errors. `usage` and
    `sections` make --help describe a console script other than training."""
    argv = sys.argv[1:]
    register_with_hydra()
    try:
        tree = conf_tree(argv)
        if HELP_FLAGS & set(argv):
            help.install(tree, usage, sections)
        check_overrides(argv, tree)
    except ConfigError as err:
        fail(prog, err)
    started = False

    @hydra.main(version_base="1.3", config_path=str(shipped_conf_dir()), config_name=CONFIG_NAME)
    def entry(cfg: DictConfig):
        nonlocal started
        started = True
        return task(cfg)

    try:
        entry()
    except SystemExit as exit_:
        if exit_.code == 1 and not started:
            raise SystemExit(2)
        raise
