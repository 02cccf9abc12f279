"""Run a Hydra app (fai-rl, fai-rl-eval) over the config tree: overrides checked first (one line, exit 2), the
shipped conf/ plus the user's own dirs (--config-dir, hydra.searchpath), and --help without Hydra's cost."""
from __future__ import annotations

import sys
from typing import Callable

import hydra
from omegaconf import DictConfig

from fai_rl.cli import help
from fai_rl.cli.compose import CONFIG_NAME, compose, register_with_hydra
from fai_rl.cli.demo import demo_overrides
from fai_rl.cli.entry import fail
from fai_rl.cli.overrides import HELP_FLAGS, check_overrides, conf_tree, override_args
from fai_rl.cli.search_path import shipped_conf_dir
from fai_rl.errors import ConfigError
from fai_rl.launch.dry_run import defaults_line as launch_defaults_line

PRINT_FLAGS = {"--cfg", "-c", "--info", "-i"}  # Hydra prints the config or its sources and runs nothing


def with_overrides(argv: list, extra: list) -> list:
    """`argv` with `extra` overrides placed before its first override (Hydra's parser wants them together)."""
    first = next((i for i, arg in enumerate(argv) if arg in override_args(argv)), len(argv))
    return argv[:first] + extra + argv[first:]


def defaults_line(argv: list, tree) -> str:
    """For --cfg and --info: which defaults the command line composes with (the demo choice, read off Hydra's)."""
    try:
        choices = compose(override_args(argv), return_hydra_config=True, tree=tree).hydra.runtime.choices
    except Exception:  # noqa: BLE001 - Hydra reports a config it cannot compose itself, right after this
        return "defaults: (the config does not compose)"
    return launch_defaults_line(choices.get("demo") == "tiny")


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
        sys.argv[1:] = with_overrides(argv, demo_overrides(argv))  # the tiny demo's settings reach no other model
        if PRINT_FLAGS & set(argv):
            print(f"{prog}: {defaults_line(sys.argv[1:], tree)}", file=sys.stderr, flush=True)
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
