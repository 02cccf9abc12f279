"""`fai-rl-train`: the seed's command line, `--config RECIPE.yaml --num-gpus N [--nohup]`, on the Hydra path.

The recipe (seed YAML format) becomes `fai-rl` overrides (printed, so the equivalent command is visible);
`--num-gpus` sets hardware.num_processes of the hardware preset; anything after the options is passed to
`fai-rl` as further overrides (e.g. training.max_steps=10).
"""
from __future__ import annotations

import argparse
import shlex
import sys

from fai_rl.cli import background, seed_recipe
from fai_rl.cli import main as fai_rl_main
from fai_rl.cli.entry import console_script
from fai_rl.cli.overrides import conf_tree
from fai_rl.config.secrets import REDACTED, secret_values

PROG = "fai-rl-train"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, metavar="CONFIG_FILE", help="recipe YAML in the seed's format")
    p.add_argument("--num-gpus", required=True, type=int, metavar="NUM_GPUS",
                   help="GPUs (processes) per node: hardware.num_processes")
    p.add_argument("--nohup", action="store_true", help="run in the background; output in logs/")
    p.add_argument("--hardware", metavar="PRESET", default=None,
                   help="conf/hardware preset (default: gpu for 1 GPU, gpu8_zero2 for more)")
    p.add_argument("overrides", nargs="*", help="further fai-rl overrides, e.g. training.max_steps=10")
    return p


@console_script(PROG)
def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    tree = conf_tree(args.overrides)
    overrides = (seed_recipe.to_overrides(seed_recipe.load(args.config), tree)
                 + seed_recipe.hardware_overrides(args.num_gpus, args.hardware, tree) + args.overrides)
    shown = " ".join(shlex.quote(o) for o in overrides)
    for secret in secret_values(seed_recipe.load(args.config)):
        shown = shown.replace(secret, REDACTED)
    print(f"{PROG}: fai-rl {shown}", flush=True)
    if args.nohup:
        return background.main(overrides)
    sys.argv = ["fai-rl", *overrides]
    return fai_rl_main.main()


if __name__ == "__main__":
    sys.exit(main())
