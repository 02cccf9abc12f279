"""`fai-rl-inference --recipe RECIPE.yaml [inference.KEY=VALUE ...]`: answer a dataset's prompts with a local model,
several checkpoints side by side, or an API model, as FAI-RL's inference recipes ask; a CSV with a response per row.
`fai-rl-eval --recipe RECIPE.yaml [evaluation.KEY=VALUE ...]` does the same for an `evaluation:` recipe and scores
it (MMLU, GSM8K). A rerun of the same recipe asks only for the rows not answered yet (docs/inference.md)."""
from __future__ import annotations

import argparse
import sys

from fai_rl.cli import inference_recipe
from fai_rl.cli.entry import console_script
from fai_rl.config.hardware import prefer_expandable_segments

PROG = "fai-rl-inference"


def parser(prog: str, section: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("--recipe", "--config", dest="config", required=True, metavar="RECIPE",
                   help=f"recipe YAML with an '{section}:' section (FAI-RL's format; --config: its spelling)")
    p.add_argument("overrides", nargs="*", help=f"recipe overrides, e.g. {section}.temperature=0 "
                   f"{section}.model_paths=[models/run/checkpoint-100,models/run/checkpoint-200]")
    return p


def run(prog: str, section: str, argv=None) -> int:
    args = parser(prog, section).parse_args(sys.argv[1:] if argv is None else argv)
    recipe = inference_recipe.load(args.config, section, args.overrides)
    if recipe.engine != "vllm":  # vLLM allocates its KV cache once, on PyTorch's default allocator
        prefer_expandable_segments()
    if section == "evaluation":
        from fai_rl.inference.evaluate import run_evaluation  # heavy: datasets, and torch for local models

        return run_evaluation(recipe)
    from fai_rl.inference.run import failed_rows, run_inference  # heavy: datasets, and torch for local models

    table, _ = run_inference(recipe)
    return 1 if failed_rows(table) else 0


@console_script(PROG)
def main(argv=None) -> int:
    return run(PROG, "inference", argv)


def evaluation_main(prog: str, argv=None) -> int:
    return console_script(prog)(run)(prog, "evaluation", argv)


if __name__ == "__main__":
    sys.exit(main())
