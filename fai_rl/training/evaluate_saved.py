"""Evaluate a saved model (fai-rl-eval) on the eval split of the composed data, with its algorithm's metrics."""
from __future__ import annotations

import tempfile

import datasets

from fai_rl import algorithms
from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path
from fai_rl.training.arguments import common_args


def evaluate_saved(run) -> dict:
    datasets.disable_progress_bars()
    module = algorithms.load(run.algorithm.trainer)
    path = resolve_model_path(run.model.base_model_name, run.model.s3_endpoint_url, run.model.s3_region)
    tokenizer = load_tokenizer(run.model, path, algorithms.model_head(module) == "image_text")
    train_ds, eval_ds = module.load_data(run, tokenizer)
    dataset = eval_ds if eval_ds is not None else train_ds
    model = load_model(run.model, run.hardware, path, algorithms.model_head(module))
    with tempfile.TemporaryDirectory() as scratch:  # a trainer built only to evaluate writes nothing that stays
        args = dict(common_args(run), output_dir=scratch, report_to=[])
        metrics = module.evaluate_model(run, model, tokenizer, dataset, model_path=path, args=args)
    metrics.update(model=run.model.base_model_name, algorithm=run.algorithm.name, rows=len(dataset))
    return metrics
