"""`fai-rl-eval`: evaluate a saved model on the eval split of the composed data, write eval.json, print a table.

    fai-rl-eval model.base_model_name=models/fai-rl-dpo/<time> [data=...] [evaluation.reference_model=...]
Preference data: reward accuracy and margin against the reference, and policy preference. Prompt data: the
algorithm's reward functions on greedy generations.
"""
from __future__ import annotations

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig

from fai_rl import algorithms
from fai_rl.cli import fail, run_hydra, task_started
from fai_rl.config.errors import ConfigError
from fai_rl.config.overrides import CONF_DIR
from fai_rl.config.validate import validate


def evaluate_saved(run) -> dict:
    import datasets

    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path

    datasets.disable_progress_bars()
    module = algorithms.load(run.algorithm.trainer)
    if not hasattr(module, "evaluate_model"):
        raise ConfigError(f"algorithm '{run.algorithm.name}' has no saved-model evaluation")
    path = resolve_model_path(run.model.base_model_name)
    tokenizer = load_tokenizer(run.model, path)
    train_ds, eval_ds = module.load_data(run, tokenizer)
    dataset = eval_ds if eval_ds is not None else train_ds
    model = load_model(run.model, run.hardware, path)
    metrics = module.evaluate_model(run, model, tokenizer, dataset, model_path=path)
    metrics.update(model=run.model.base_model_name, algorithm=run.algorithm.name, rows=len(dataset))
    return metrics


def table(metrics: dict) -> str:
    rows = [f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()]
    return "\n".join(["| metric | value |", "|---|---|", *rows])


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def hydra_entry(cfg: DictConfig):
    task_started()
    try:
        run = validate(cfg)
        metrics = evaluate_saved(run)
    except ConfigError as err:
        fail(err)
    out = Path(run.evaluation.output or Path(run.run_dir) / "eval.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(table(metrics))
    print(f"eval written to {out}")
    return metrics.get(algorithms.load(run.algorithm.trainer).OBJECTIVE)


def main():
    return run_hydra(hydra_entry)


if __name__ == "__main__":
    main()
