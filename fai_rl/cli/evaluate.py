"""`fai-rl-eval`: evaluate a saved model on the eval split of the composed data, write eval.json, print a table.

    fai-rl-eval model.base_model_name=models/fai-rl-dpo/<time> [data=...] [evaluation.reference_model=...]
    fai-rl-eval --recipe examples/inference_recipes/tiny_gsm8k_eval.yaml [evaluation.KEY=VALUE ...]  (FAI-RL recipes:
        MMLU, GSM8K; one model, several checkpoints or an API model; fai_rl/cli/inference.py)
Preference data: reward accuracy and margin against the reference, and policy preference. Prompt data: the
algorithm's reward functions on greedy generations.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from omegaconf import DictConfig

from fai_rl import algorithms
from fai_rl.cli.entry import fail
from fai_rl.cli.hydra_app import run_hydra
from fai_rl.config.run_files import RunFiles
from fai_rl.config.validate import validate
from fai_rl.errors import ConfigError
from fai_rl.launch.memory import allocator_env

PROG = "fai-rl-eval"
SECTIONS = ("model", "data", "algorithm", "hardware", "evaluation")  # what evaluating a saved model reads


def table(metrics: dict) -> str:
    rows = [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()]
    return "\n".join(["| metric | value |", "|---|---|", *rows])


def task(cfg: DictConfig):
    try:
        run = validate(cfg)
        os.environ.update(allocator_env(run))  # on CUDA, before torch loads: as the training processes run
        from fai_rl.training.evaluate_saved import evaluate_saved  # heavy: torch loads once the config is good

        metrics = evaluate_saved(run)
    except ConfigError as err:
        fail(PROG, err)
    out = Path(run.evaluation.output or RunFiles(Path(run.run_dir)).eval)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(table(metrics))
    print(f"eval written to {out}")
    return metrics.get(algorithms.load(run.algorithm.trainer).OBJECTIVE)


RECIPE_OPTIONS = ("--recipe", "--config")


def main() -> None:
    if any(arg.split("=")[0] in RECIPE_OPTIONS for arg in sys.argv[1:]):
        from fai_rl.cli.inference import evaluation_main  # the recipe path: argparse, not Hydra

        sys.exit(evaluation_main(PROG))
    run_hydra(task, PROG, usage=__doc__.strip(), sections=SECTIONS)


if __name__ == "__main__":
    main()
