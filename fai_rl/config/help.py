"""`fai-rl --help` in Hydra's format, without Hydra's cost.

Hydra's help formats both config-group listings whatever the template uses, and each listing deep-copies its config
repository once per group (with the launcher and sweeper plugins, ~0.4 s of a 0.65 s `--help`). fai-rl's groups
are the folders of conf/, so they are listed from there, and only the placeholders the template uses are formatted.
"""
from __future__ import annotations

import string

from .overrides import group_options, groups


def app_config_groups() -> str:
    """What Hydra's $APP_CONFIG_GROUPS gives: `group: option, option` per conf/ group (hydra/ left out)."""
    return "".join(f"{group}: {', '.join(group_options(group))}\n" for group in groups() if group_options(group))


def get_help(self, help_cfg, cfg, args_parser, resolve: bool) -> str:
    """Hydra.get_help, formatting only what the template names."""
    from omegaconf import OmegaConf

    template = help_cfg.template
    named = {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(template)}
    values = {"CONFIG": OmegaConf.to_yaml(cfg, resolve=resolve)}
    if "FLAGS_HELP" in named:
        values["FLAGS_HELP"] = self.format_args_help(args_parser)
    if "APP_CONFIG_GROUPS" in named:
        values["APP_CONFIG_GROUPS"] = app_config_groups()
    if "HYDRA_CONFIG_GROUPS" in named:
        values["HYDRA_CONFIG_GROUPS"] = self.format_config_groups(lambda g: g == "hydra" or g.startswith("hydra/"))
    return string.Template(template).substitute(values)


def install() -> None:
    from hydra._internal.hydra import Hydra

    Hydra.get_help = get_help
