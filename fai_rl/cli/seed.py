"""`fai-rl-train`: FAI-RL's command line, `--recipe RECIPE.yaml --num-gpus N [--nohup]` (the seed's `--config`
too), on the Hydra path.

The recipe (FAI-RL's YAML format) becomes `fai-rl` overrides (printed, so the equivalent command is visible);
`--num-gpus` sets hardware.num_processes of the hardware preset. After the options: FAI-RL-style overrides of the
recipe (`data.datasets[0].name=...`, `model.use_lora=false`, `training.num_generations=4`, `s3.enabled=true`) are
set in the recipe before it is translated; anything else is passed to `fai-rl` as it is (e.g. hardware.dry_run=true).
"""
from __future__ import annotations

import argparse
import shlex
import sys

from fai_rl.cli import background, seed_recipe
from fai_rl.cli import main as fai_rl_main
from fai_rl.cli.entry import console_script
from fai_rl.cli.overrides import conf_tree
from fai_rl.config.secrets import scrub_text, secret_values

PROG = "fai-rl-train"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--recipe", "--config", dest="config", required=True, metavar="RECIPE",
                   help="recipe YAML in FAI-RL's format (--config: the seed's spelling)")
    p.add_argument("--num-gpus", required=True, type=int, metavar="NUM_GPUS",
                   help="GPUs (processes) per node: hardware.num_processes")
    p.add_argument("--nohup", action="store_true", help="run in the background; output in logs/")
    p.add_argument("--hardware", metavar="PRESET", default=None,
                   help="conf/hardware preset (default: gpu for 1 GPU, gpu8_zero2 for more)")
    p.add_argument("overrides", nargs="*", help="FAI-RL-style recipe overrides (data.datasets[0].name=..., "
                   "training.max_steps=10) and fai-rl overrides (hardware.dry_run=true)")
    return p


@console_script(PROG)
def main(argv=None):
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    recipe_overrides, own = seed_recipe.split_overrides(args.overrides)
    tree = conf_tree(own)
    recipe = seed_recipe.apply_overrides(seed_recipe.load(args.config), recipe_overrides)
    overrides = (seed_recipe.to_overrides(recipe, tree)
                 + seed_recipe.hardware_overrides(args.num_gpus, args.hardware, tree))
    fitted, fit_note = seed_recipe.fit_generation_batch(overrides, own, tree)
    overrides += fitted + own
    shown = scrub_text(" ".join(shlex.quote(o) for o in overrides), secret_values(recipe))
    print(f"{PROG}: fai-rl {shown}", flush=True)
    unused = seed_recipe.unused_keys(recipe, tree)
    if unused:
        print(f"{PROG}: recipe keys not used: {'; '.join(unused)}", flush=True)
    if fit_note:
        print(f"{PROG}: {fit_note}", flush=True)
    if args.nohup:
        return background.main(overrides)
    sys.argv = ["fai-rl", *overrides]
    return fai_rl_main.main()


if __name__ == "__main__":
    sys.exit(main())
