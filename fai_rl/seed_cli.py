"""`fai-rl-train`: the seed's command line, `--config RECIPE.yaml --num-gpus N [--nohup]`, on the Hydra path.

The recipe (seed YAML format) becomes `fai-rl` overrides (printed, so the equivalent command is visible);
`--num-gpus` sets hardware.num_processes of the hardware preset; anything after the options is passed to
`fai-rl` as further overrides (e.g. training.max_steps=10).
"""
from __future__ import annotations

import argparse
import shlex
import sys

from fai_rl.config.errors import ConfigError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fai-rl-train", description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, metavar="CONFIG_FILE", help="recipe YAML in the seed's format")
    p.add_argument("--num-gpus", required=True, type=int, metavar="NUM_GPUS",
                   help="GPUs (processes) per node: hardware.num_processes")
    p.add_argument("--nohup", action="store_true", help="run in the background; output in logs/")
    p.add_argument("--hardware", metavar="PRESET", default=None,
                   help="conf/hardware preset (default: gpu for 1 GPU, gpu8_zero2 for more)")
    p.add_argument("overrides", nargs="*", help="further fai-rl overrides, e.g. training.max_steps=10")
    return p


def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    from fai_rl.config import seed_recipe

    try:
        overrides = (seed_recipe.to_overrides(seed_recipe.load(args.config))
                     + seed_recipe.hardware_overrides(args.num_gpus, args.hardware) + args.overrides)
    except ConfigError as err:
        print(f"fai-rl-train: error: {err}", file=sys.stderr)
        sys.exit(2)
    print("fai-rl-train: fai-rl " + " ".join(shlex.quote(o) for o in overrides), flush=True)
    if args.nohup:
        from fai_rl import background

        sys.exit(background.main(overrides))
    from fai_rl import cli

    sys.argv = ["fai-rl", *overrides]
    return cli.main()


if __name__ == "__main__":
    main()
