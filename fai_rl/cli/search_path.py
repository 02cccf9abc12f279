"""The config search path of one command line: the shipped conf/ tree plus the user's own config dirs
(`--config-dir DIR`, `hydra.searchpath=[file://DIR, pkg://package.conf]`), and the group options they offer
together, so the user's options get the same checks, did-you-mean choices and --help listing as the shipped ones.
"""
from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser

from fai_rl.errors import ConfigError

SHIPPED_PACKAGE = "fai_rl.conf"  # conf/ at the top of the repository, shipped in the wheel under this name
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
SEARCHPATH_KEY = "hydra.searchpath"


SOURCE_CONF = Path(__file__).resolve().parents[2] / "conf"  # in a source tree: conf/ beside fai_rl/


def shipped_conf_dir() -> Path:
    """The shipped conf/ tree: beside the package in a source tree (a checkout run with PYTHONPATH and no install,
    or a second checkout next to an editable install, reads its own conf/), else the installed fai_rl.conf."""
    if (SOURCE_CONF / "train.yaml").is_file() and (SOURCE_CONF / "__init__.py").is_file():
        return SOURCE_CONF
    try:
        return Path(str(importlib.resources.files(SHIPPED_PACKAGE)))
    except ModuleNotFoundError:
        raise ConfigError(f"fai-rl's config tree is missing: neither {SOURCE_CONF} nor the package {SHIPPED_PACKAGE} "
                          "exists; reinstall fai-rl (pip install fai-rl) or run from a full checkout") from None


def source_dir(entry: str, where: str) -> Path:
    """One search-path entry (file://DIR, pkg://package, or a plain folder path) as a folder that exists."""
    if entry.startswith("pkg://"):
        package = entry[len("pkg://"):].strip("/").replace("/", ".")
        try:
            folder = Path(str(importlib.resources.files(package)))
        except (ImportError, TypeError) as err:
            raise ConfigError(f"{where}: package '{package}' of '{entry}' cannot be imported ({err})")
    else:
        folder = Path(entry[len("file://"):] if entry.startswith("file://") else entry).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{where}: '{entry}' is not a folder; give a config dir that holds <group>/<option>.yaml")
    return folder.resolve()


@dataclass(frozen=True)
class ConfTree:
    """The config dirs one command line composes from: the shipped conf/, the --config-dir, the hydra.searchpath
    entries. An option is named once in listings; where two dirs hold the same option Hydra takes the shipped one,
    so a user's options take new names."""

    dirs: tuple
    user_sources: tuple = ()  # the user's entries as Hydra search-path URIs (file://..., pkg://...)

    def groups(self) -> list:
        names = {p.name for d in self.dirs for p in d.iterdir() if p.is_dir() and p.name != "hydra"}
        return sorted(g for g in names if self.group_options(g))

    def group_options(self, group: str) -> list:
        options = set()
        for d in self.dirs:
            folder = d / group
            if folder.is_dir():
                options.update(str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.yaml"))
        return sorted(options)


def _flag_values(argv: list, flags: tuple) -> list:
    values = []
    for i, arg in enumerate(argv):
        if arg in flags and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif any(arg.startswith(flag + "=") for flag in flags):
            values.append(arg.split("=", 1)[1])
    return values


def searchpath_entries(overrides: list) -> list:
    """The entries of a `hydra.searchpath=[...]` override among the command-line overrides."""
    entries = []
    for text in overrides:
        if text.lstrip("+~").startswith(SEARCHPATH_KEY + "="):
            value = OverridesParser.create().parse_override(text).value()
            entries += [str(v) for v in (value if isinstance(value, list) else [value])]
    return entries


def from_argv(argv: list, overrides: list) -> ConfTree:
    """The tree for a command line (`overrides`: its key=value arguments)."""
    sources, dirs = [], [shipped_conf_dir()]
    for entry in _flag_values(argv, CONFIG_DIR_FLAGS):
        dirs.append(source_dir(entry, "--config-dir"))
        sources.append(f"file://{dirs[-1]}")
    for entry in searchpath_entries(overrides):
        dirs.append(source_dir(entry, SEARCHPATH_KEY))
        sources.append(entry if entry.startswith("pkg://") else f"file://{dirs[-1]}")
    return ConfTree(tuple(dirs), tuple(sources))


def shipped() -> ConfTree:
    return ConfTree((shipped_conf_dir(),))
