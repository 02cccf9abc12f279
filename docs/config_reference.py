"""docs/config.md, generated: every key of the schema (fai_rl/config/schema.py and each algorithm's Settings) with
its type, default and help, the value the default job uses where it differs, and the config groups.

    python docs/config_reference.py [--check] [PATH]      (make docs; not shipped in the package)
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from omegaconf import OmegaConf, open_dict

from fai_rl import algorithms
from fai_rl.cli.compose import compose
from fai_rl.cli.search_path import shipped, shipped_conf_dir
from fai_rl.config.schema import MISSING, AlgorithmConfig, RunConfig
from fai_rl.config.validate import validate

DEFAULT_PATH = Path("docs/config.md")
RUNTIME = re.compile(r"\$\{(now|hydra):")  # interpolations that depend on the moment or on Hydra's run
PLACEHOLDER = "set when the run starts"

INTRO = """# Config reference

Generated from `fai_rl/config/schema.py` and the algorithm modules by `make docs`; do not edit by hand.

`fai-rl` composes `conf/train.yaml`: every key starts at the schema's default (below), then `train.yaml` sets what
the default job changes, then the chosen option of each config group and the command line override it. **default**
is the schema's default; where the default job (`fai-rl` with no overrides) uses another value, the cell names it
(as written in the YAML; interpolations are resolved when the run starts).
"""


@dataclass
class DefaultJob:
    written: dict  # the composed config, interpolations as written
    validated: dict  # the validated RunConfig as a dict
    choices: dict  # config group -> the option it uses


@dataclass
class Section:
    title: str
    intro: str
    cls: type
    written: Optional[dict] = None  # the default job's values here (None: not shown)
    validated: Optional[dict] = None
    skip: tuple = ()
    notes: list = dataclasses.field(default_factory=list)  # lines after the table


def value_text(value) -> str:
    """A value as YAML flow text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def type_text(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return " / ".join(value_text(a) for a in args)
    if origin is Union:
        text = " or ".join(type_text(a) for a in args if a is not type(None))
        return text + " or null" if type(None) in args else text
    if origin is list:
        return "list of entries (below)" if dataclasses.is_dataclass(args[0]) else f"list of {type_text(args[0])}"
    if tp is Any:
        return "any"
    return tp.__name__


def code(value) -> str:
    return "required" if value == MISSING else "`" + value_text(value).replace("|", "\\|") + "`"


def plain(text: str) -> str:
    """Text for Markdown: in a table `|` ends a cell, and `<name>` reads as an HTML tag, unless escaped."""
    return text.replace("|", "\\|").replace("<", "\\<")


def default_job() -> DefaultJob:
    cfg = compose([], return_hydra_config=True)
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    written = OmegaConf.to_container(cfg, resolve=False)
    for key in runtime_keys(written):
        OmegaConf.update(cfg, key, PLACEHOLDER)
    return DefaultJob(written, dataclasses.asdict(validate(cfg)), choices)


def runtime_keys(node, path: str = ""):
    """Dotted keys whose value is an interpolation resolved only when a run starts (time stamps, Hydra's dirs)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from runtime_keys(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, str) and RUNTIME.search(node):
        yield path


def table(section: Section) -> list:
    hints = typing.get_type_hints(section.cls)
    defaults = dataclasses.asdict(section.cls())
    rows = ["| key | type | default | help |", "|---|---|---|---|"]
    for f in dataclasses.fields(section.cls):
        if f.name in section.skip or dataclasses.is_dataclass(hints[f.name]):
            continue
        default = code(defaults[f.name])
        if section.validated is not None and section.validated[f.name] != defaults[f.name]:
            default += f" (default job: {code(section.written.get(f.name, section.validated[f.name]))})"
        rows.append(f"| {f.name} | {type_text(hints[f.name])} | {default} | {plain(f.metadata['help'])} |")
    return rows


def walk(cls, path: str, intro: str, written: Optional[dict], validated: Optional[dict]):
    """The section of `cls` at `path`, then its nested sections and the entries of its lists of sections."""
    yield Section(path, intro, cls, written, validated)
    hints = typing.get_type_hints(cls)
    entries = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from walk(tp, f"{path}.{f.name}", f.metadata["help"], written[f.name], validated[f.name])
        elif typing.get_origin(tp) is list and dataclasses.is_dataclass(typing.get_args(tp)[0]):
            entries.setdefault(typing.get_args(tp)[0], []).append(f"{path}.{f.name}[]")
    for item, paths in entries.items():
        yield Section(" and ".join(paths) + " entries", item.__doc__, item)


def groups(job: DefaultJob) -> list:
    tree = shipped()
    rows = ["## Config groups", "", "Choose one option per group: `fai-rl <group>=<option>` (files in "
            "`conf/<group>/<option>.yaml`).", "", "| group | options | default job |", "|---|---|---|"]
    for group in tree.groups():
        options = tree.group_options(group)
        choice = job.choices.get(group)
        rows.append(f"| {group} | {', '.join(options)} | {choice if choice in options else 'none'} |")
    return rows


def built_on(trainer: str) -> list:
    """Notes on the algorithm options that `trainer` trains under another name (gspo over grpo): what each sets."""
    tree, lines = shipped(), []
    for option in tree.group_options("algorithm"):
        if option == trainer or compose([f"algorithm={option}"]).algorithm.trainer != trainer:
            continue
        sets = OmegaConf.to_container(OmegaConf.load(shipped_conf_dir() / "algorithm" / f"{option}.yaml"),
                                      resolve=False)
        sets.pop("defaults", None)
        lines += ["", f"{option.upper()} (`algorithm={option}`) is `conf/algorithm/{option}.yaml` over {trainer}, "
                  "trained by this module; it sets:", ""]
        lines += [f"- {key}: {code(value)}" for key, value in sets.items()]
    return lines


def algorithm_sections(job: DefaultJob):
    common = [f.name for f in dataclasses.fields(AlgorithmConfig)]
    help_of = {f.name: f.metadata["help"] for f in dataclasses.fields(RunConfig)}
    algo_written, algo_validated = job.written["algorithm"], job.validated["algorithm"]
    yield Section("algorithm (fields every algorithm has)", help_of["algorithm"], AlgorithmConfig,
                  algo_written, algo_validated)
    for trainer in algorithms.available():
        module = algorithms.load(trainer)
        used = algo_validated["trainer"] == trainer
        where = f"{trainer}/" if Path(module.__file__).name == "__init__.py" else f"{trainer}.py"  # a package or not
        intro = f"`fai_rl/algorithms/{where}`: {module.__doc__.splitlines()[0]}"
        yield Section(f"algorithm: {trainer}", intro, module.Settings, algo_written if used else None,
                      algo_validated if used else None, skip=tuple(common), notes=built_on(trainer))
        hints = typing.get_type_hints(module.Settings)
        for f in dataclasses.fields(module.Settings):
            if dataclasses.is_dataclass(hints[f.name]):
                yield from walk(hints[f.name], f"algorithm.{f.name} ({trainer})", f.metadata["help"],
                                algo_written[f.name] if used else None, algo_validated[f.name] if used else None)


def sections(job: DefaultJob):
    hints = typing.get_type_hints(RunConfig)
    for f in dataclasses.fields(RunConfig):
        if dataclasses.is_dataclass(hints[f.name]) and f.name != "algorithm":
            yield from walk(hints[f.name], f.name, f.metadata["help"], job.written[f.name], job.validated[f.name])
    yield from algorithm_sections(job)
    yield Section("top-level keys", "Keys outside the sections.", RunConfig, job.written, job.validated)


@functools.lru_cache(maxsize=1)  # the shipped config does not change within a process
def render() -> str:
    job = default_job()
    lines = [INTRO] + groups(job)
    for section in sections(job):
        lines += ["", f"## {section.title}", "", plain(section.intro), ""] + table(section) + section.notes
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/config_reference.py", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when PATH differs from what would be written")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.path.is_file() or args.path.read_text() != text:
            print(f"{args.path} is stale; run make docs", file=sys.stderr)
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text)
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
