"""train(run): what every rank runs, in four phases that read top to bottom.

    prepare  the algorithm, tokenizer and data (data errors surface before the model loads), the batch check
    build    the policy (a ZeRO-3 rank loads only its shard), the algorithm's trainer, the callbacks around it
    fit      evaluate before (at train begin), train or resume, evaluate after, save the model
    finish   rank 0: the summary (summary.json), the model card and config beside the model, uploads, trackers
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import datasets
import yaml
from transformers import set_seed

from fai_rl import algorithms
from fai_rl.config.derived import batch_line, check_batch_fits, check_eval_batch_fits
from fai_rl.config.run_files import run_files
from fai_rl.config.schema import RunConfig
from fai_rl.config.secrets import redact
from fai_rl.config.validate import to_dict
from fai_rl.data.lengths import truncation_warning
from fai_rl.errors import RunFailed
from fai_rl.models import lora
from fai_rl.models.kernel_plan import kernel_plan
from fai_rl.models.kernels import apply_kernels
from fai_rl.models.loading import RUN_CONFIG_FILE, load_model, load_tokenizer, resolve_model_path, text_tokenizer
from fai_rl.storage.checkpoint_dirs import checkpoint_step
from fai_rl.tracking.model_card import write_model_card
from fai_rl.tracking.plot_process import CurvesPlotter
from fai_rl.tracking.run_log import attach_log_file
from fai_rl.tracking.summary import Summary, best_checkpoint, describe, pick_objective, write_summary
from fai_rl.training.arguments import common_args
from fai_rl.training.callbacks import RunCallbacks
from fai_rl.training.checkpoints import finish_from_checkpoint, resume_point
from fai_rl.training.devices import peak_gpu_memory
from fai_rl.training.processes import check_processes, held_parameters, routes_tokens, sharded_loading

log = logging.getLogger("fai_rl")


@dataclass
class Inputs:
    """What `prepare` hands on: the algorithm, where the model is, the tokenizer and the datasets."""

    module: ModuleType
    model_path: str
    tokenizer: Any
    train_ds: Any
    eval_ds: Any


@dataclass
class Fitted:
    """What `fit` hands on."""

    train_loss: float
    resumed_from: Optional[str]
    train_runtime_s: float  # training alone: the evaluation before it is not counted
    eval_after: dict


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def train(run: RunConfig) -> dict:
    """Train as `run` says; return (and write to <run_dir>/summary.json) the run summary."""
    started = time.time()
    main = is_main_process()
    plotter = CurvesPlotter() if main else None  # loads matplotlib on another core meanwhile
    try:
        log_file = attach_log_file(run.training.run_name) if main else None
        inputs = prepare(run)
        callbacks = RunCallbacks(run, inputs.module, main)
        with callbacks.guard():
            trainer = build(run, inputs, callbacks)
            fitted = fit(run, inputs, trainer, callbacks, plotter)
        summary = summarise(run, inputs.module, trainer, callbacks, fitted, started, log_file)
        if main:
            finish(run, inputs.tokenizer, trainer, callbacks, summary, plotter)
        return summary.to_dict()
    finally:
        if plotter is not None:
            plotter.close()


def prepare(run: RunConfig) -> Inputs:
    module = algorithms.load(run.algorithm.trainer)
    datasets.disable_progress_bars()
    set_seed(run.training.seed)
    model_path = resolve_model_path(run.model.base_model_name, run.model.s3_endpoint_url, run.model.s3_region)
    tokenizer = load_tokenizer(run.model, model_path, algorithms.model_head(module) == "image_text")  # image-text: the processor
    train_ds, eval_ds = module.load_data(run, tokenizer)  # data errors surface before the model loads
    if run.training.eval_split_ratio:
        held_out = train_ds.train_test_split(test_size=run.training.eval_split_ratio, seed=run.training.seed)
        train_ds, eval_ds = held_out["train"], held_out["test"]
        log.info("held out %d of the training rows as eval data (training.eval_split_ratio=%s)", len(eval_ds),
                 run.training.eval_split_ratio)
    warning = truncation_warning(train_ds, text_tokenizer(tokenizer), run.data.max_length) if is_main_process() else None
    if warning:
        log.warning(warning)
    check_batch_fits(run, len(train_ds), module.examples_per_row(run.algorithm))
    if eval_ds is not None:
        check_eval_batch_fits(run, len(eval_ds), module.examples_per_row(run.algorithm))
    return Inputs(module, model_path, tokenizer, train_ds, eval_ds)


def build(run: RunConfig, inputs: Inputs, callbacks: RunCallbacks):
    with sharded_loading(run):  # ZeRO-3: each rank holds only its shard from the start
        model, peft_config = load_policy(run, inputs.model_path, algorithms.model_head(inputs.module))
    log.info("model loaded: %s", held_parameters(model))
    log.info("%s: %d training rows, %s eval rows; %s", run.algorithm.name, len(inputs.train_ds),
             len(inputs.eval_ds) if inputs.eval_ds else 0, batch_line(run))
    args = dict(common_args(run), ddp_find_unused_parameters=routes_tokens(model))
    trainer = inputs.module.build_trainer(run, model, inputs.tokenizer, inputs.train_ds, inputs.eval_ds, args,
                                          peft_config=peft_config)
    log.info(check_processes(run, trainer.accelerator))
    callbacks.attach(trainer, has_eval=inputs.eval_ds is not None)
    return trainer


def load_policy(run: RunConfig, model_path: str, head: str = "causal_lm"):
    """The model to train (with the algorithm's head) and the peft config for a fresh LoRA adapter (None when off or
    continuing one)."""
    model = load_model(run.model, run.hardware, model_path, head)
    log.info(apply_kernels(model, kernel_plan(run)))
    if run.model.load_in_4bit or run.model.load_in_8bit:
        model = lora.prepare_quantized(model, run.training.gradient_checkpointing)
    fresh_adapter = run.model.lora.enabled and not lora.is_adapter_folder(model_path)
    return model, lora.peft_config(run.model.lora, head) if fresh_adapter else None


def fit(run: RunConfig, inputs: Inputs, trainer, callbacks: RunCallbacks, plotter) -> Fitted:
    resume_from = resume_point(run, is_main_process())
    if resume_from:
        log.info("resuming from %s", resume_from)
    started = time.time()
    if resume_from and checkpoint_step(resume_from) >= run.training.max_steps > 0:
        result = finish_from_checkpoint(trainer, resume_from)
    else:
        result = trainer.train(resume_from_checkpoint=resume_from)
    train_runtime = time.time() - started - callbacks.eval_before.seconds
    callbacks.raise_if_stopped(trainer)
    eval_after = inputs.module.evaluate(trainer) if inputs.eval_ds is not None else {}
    if plotter is not None:  # the metrics are complete: the plot is drawn while the model is saved
        plotter.start(run_files(run).root, f"{run.algorithm.name}: {run.training.run_name}")
    trainer.save_model(run.training.output_dir)
    return Fitted(result.training_loss, resume_from, train_runtime, eval_after)


def summarise(run: RunConfig, module, trainer, callbacks: RunCallbacks, fitted: Fitted, started: float,
              log_file) -> Summary:
    final = callbacks.metrics_log.last_train_metrics()
    objective_metric = run.training.objective_metric or module.OBJECTIVE
    objective = pick_objective(objective_metric, run.training.objective_metric is not None, fitted.eval_after, final)
    best = best_checkpoint(trainer.state, callbacks.best_metric, run.training.load_best_model_at_end)
    return Summary(
        algorithm=run.algorithm.name, steps=trainer.state.global_step, resumed_from=fitted.resumed_from,
        world_size=trainer.accelerator.num_processes, effective_batch_size=run.effective_batch_size,
        train_runtime_s=fitted.train_runtime_s, total_runtime_s=time.time() - started, train_loss=fitted.train_loss,
        final_metrics=final, eval_before=callbacks.eval_before.metrics, eval_after=fitted.eval_after,
        headline_metrics=list(module.HEADLINE), objective_metric=objective_metric, objective=objective, **best,
        **(callbacks.alarm.summary() if callbacks.alarm else {}),
        trackers_missed=callbacks.trackers.summary() if callbacks.trackers else {},
        output_dir=str(Path(run.training.output_dir).resolve()), run_dir=str(run_files(run).root.resolve()),
        log_file=str(log_file.resolve()) if log_file else None, peak_gpu_memory=peak_gpu_memory())


def finish(run: RunConfig, tokenizer, trainer, callbacks: RunCallbacks, summary: Summary, plotter) -> None:
    """Rank 0: what goes beside the model, the uploads, summary.json, the curves, the trackers, the closing lines."""
    save_outputs(trainer, tokenizer, run, summary.to_dict())
    if callbacks.uploader:
        if run.upload.final_model:
            callbacks.uploader.final_model(Path(run.training.output_dir))
        summary.upload = callbacks.uploader.finish()
    files = run_files(run)
    write_summary(files.summary, summary.to_dict())
    plotter.finish()
    callbacks.trackers.finish([files.summary, files.curves])
    print(describe(summary.to_dict()), flush=True)
    check_uploads(run, summary.upload)


def save_outputs(trainer, tokenizer, run: RunConfig, summary: dict) -> None:
    """Model (or adapter) + tokenizer + model card; with LoRA merge_on_save also <output_dir>/merged."""
    out = Path(run.training.output_dir)
    tokenizer.save_pretrained(out)
    write_model_card(out, run, summary)
    (out / RUN_CONFIG_FILE).write_text(yaml.safe_dump(redact(to_dict(run)), sort_keys=False))
    if run.model.lora.merge_on_save and hasattr(trainer.model, "merge_and_unload"):
        merged = lora.save_merged(trainer.model, tokenizer, out / "merged")
        write_model_card(merged, run, summary)


def check_uploads(run: RunConfig, report) -> None:
    """Failed uploads are reported in the log and summary.json; with upload.required they fail the run."""
    if report and report["failed"] and run.upload.required:
        raise RunFailed(f"{len(report['failed'])} upload(s) to {report['url']} failed (upload.required=true): "
                        f"{report['failed'][0]['what']}: {report['failed'][0]['error']}")
