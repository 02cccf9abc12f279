"""`fai-rl --help` in Hydra's format, without Hydra's cost.

Hydra's help formats both config-group listings whatever the template uses, and each listing deep-copies its config
repository once per group (with the launcher and sweeper plugins, ~0.4 s of a 0.65 s `--help`). fai-rl's groups
are the folders of the config tree (shipped conf/ and the user's own dirs), so they are listed from there, and only
the placeholders the template uses are formatted.
"""
from __future__ import annotations

import string

from hydra._internal.hydra import Hydra
from omegaconf import OmegaConf

from fai_rl.cli.search_path import ConfTree


def app_config_groups(tree: ConfTree) -> str:
    """What Hydra's $APP_CONFIG_GROUPS gives: `group: option, option` per group (hydra/ left out)."""
    return "".join(f"{group}: {', '.join(tree.group_options(group))}\n" for group in tree.groups())


APP_TEMPLATE = """$USAGE

== Configuration groups ==
Compose your configuration from those groups (group=option)

$APP_CONFIG_GROUPS
== Config ==
The keys it reads (override any: key=value)

$CONFIG"""


def help_formatter(tree: ConfTree, usage: str = None, sections: tuple = None):
    """Hydra.get_help, formatting only what the template names, with the groups of `tree`. A console script other
    than fai-rl gives its own `usage` text and the config `sections` it reads, instead of training's help."""

    def get_help(self, help_cfg, cfg, args_parser, resolve: bool) -> str:
        template = help_cfg.template if usage is None else APP_TEMPLATE
        named = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template)}
        shown = cfg if sections is None else OmegaConf.masked_copy(cfg, list(sections))
        values = {"CONFIG": OmegaConf.to_yaml(shown, resolve=resolve), "USAGE": usage}
        if "FLAGS_HELP" in named:
            values["FLAGS_HELP"] = self.format_args_help(args_parser)
        if "APP_CONFIG_GROUPS" in named:
            values["APP_CONFIG_GROUPS"] = app_config_groups(tree)
        if "HYDRA_CONFIG_GROUPS" in named:
            values["HYDRA_CONFIG_GROUPS"] = self.format_config_groups(lambda g: g == "hydra" or g.startswith("hydra/"))
        return string.Template(template).substitute(values)

    return get_help


def install(tree: ConfTree, usage: str = None, sections: tuple = None) -> None:
    """Make this process's Hydra print fai-rl's --help (called only when a help flag is given)."""
    Hydra.get_help = help_formatter(tree, usage, sections)
