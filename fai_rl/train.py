"""train(run): the one pipeline every rank runs — model, data, trainer for the algorithm, train, save, summary."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from fai_rl import algorithms
from fai_rl.config.schema import RunConfig
from fai_rl.output_guard import check_output_dir

log = logging.getLogger("fai_rl")


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def train(run: RunConfig) -> dict:
    """Train as `run` says; return (and write to <run_dir>/summary.json) the run summary."""
    started = time.time()
    run_dir = Path(run.run_dir or run.training.output_dir)
    module = algorithms.load(run.algorithm.trainer)
    if is_main_process():
        check_output_dir(run.training.output_dir, run.training.overwrite_output_dir)
    from fai_rl.tracking.run_log import attach_log_file

    log_file = attach_log_file(run.training.run_name) if is_main_process() else None
    os.environ.setdefault("WANDB_DIR", str(run_dir))

    from transformers import set_seed

    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path
    from fai_rl.tracking.metrics_log import MetricsLog
    from fai_rl.tracking.summary import describe, write_summary
    from fai_rl.training_args import common_args

    import datasets

    datasets.disable_progress_bars()
    set_seed(run.training.seed)
    model_path = resolve_model_path(run.model.base_model_name)
    tokenizer = load_tokenizer(run.model, model_path)
    train_ds, eval_ds = module.load_data(run, tokenizer)  # data errors surface before the model loads
    model = load_model(run.model, run.hardware, model_path)
    log.info("%s: %d training rows, %s eval rows", run.algorithm.name, len(train_ds), len(eval_ds) if eval_ds else 0)
    trainer = module.build_trainer(run, model, tokenizer, train_ds, eval_ds, common_args(run))
    metrics_log = MetricsLog(run_dir / "metrics.jsonl")
    trainer.add_callback(metrics_log)

    eval_before = module.evaluate(trainer) if eval_ds is not None else {}
    train_started = time.time()
    result = trainer.train()
    train_runtime = time.time() - train_started
    eval_after = module.evaluate(trainer) if eval_ds is not None else {}

    trainer.save_model(run.training.output_dir)
    summary = {
        "algorithm": run.algorithm.name,
        "status": "completed",
        "steps": trainer.state.global_step,
        "train_runtime_s": train_runtime,
        "total_runtime_s": time.time() - started,
        "train_loss": result.training_loss,
        "final_metrics": metrics_log.last_train_metrics(),
        "eval_before": eval_before,
        "eval_after": eval_after,
        "headline_metrics": list(getattr(module, "HEADLINE", [])),
        "objective_metric": module.OBJECTIVE,
        "objective": eval_after.get(module.OBJECTIVE,  # no eval data: the same metric on the training batches
                                    metrics_log.last_train_metrics().get(module.OBJECTIVE.removeprefix("eval_"))),
        "output_dir": str(Path(run.training.output_dir).resolve()),
        "run_dir": str(run_dir.resolve()),
        "log_file": str(log_file.resolve()) if log_file else None,
    }
    if is_main_process():
        tokenizer.save_pretrained(run.training.output_dir)
        write_summary(run_dir / "summary.json", summary)
        print(describe(summary), flush=True)
    return summary
