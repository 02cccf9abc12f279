"""train(run): the one pipeline every rank runs — model, data, trainer for the algorithm, train, save, summary."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import datasets
import yaml
from transformers import set_seed

from fai_rl import algorithms
from fai_rl.config.derived import batch_line, check_batch_fits, launched
from fai_rl.config.run_files import run_files
from fai_rl.config.schema import RunConfig
from fai_rl.config.secrets import redact
from fai_rl.config.validate import to_dict
from fai_rl.errors import RunFailed
from fai_rl.evaluation.best_metric import RequireBestMetric
from fai_rl.evaluation.eval_before import EvalBefore
from fai_rl.evaluation.reward_alarm import RewardAlarm
from fai_rl.models import lora
from fai_rl.models.loading import RUN_CONFIG_FILE, load_model, load_tokenizer, resolve_model_path
from fai_rl.storage.checkpoint_dirs import checkpoint_step, complete_checkpoints, resolve_resume, set_aside_incomplete
from fai_rl.tracking.metrics_log import MetricsLog
from fai_rl.tracking.model_card import resume_command, write_model_card
from fai_rl.tracking.plot_process import CurvesPlotter
from fai_rl.tracking.run_log import attach_log_file
from fai_rl.tracking.summary import best_checkpoint, describe, pick_objective, write_summary
from fai_rl.tracking.trackers import Trackers
from fai_rl.training.arguments import best_model_metric, check_processes, common_args, held_parameters, sharded_loading
from fai_rl.training.checkpoints import MarkCheckpointComplete, failed_write, finish_from_checkpoint
from fai_rl.training.guards import StopSignals, guard_finite_loss
from fai_rl.training.upload import UploadCheckpoints, Uploader
from fai_rl.training.watchdog import Watchdog

log = logging.getLogger("fai_rl")


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def load_policy(run: RunConfig, model_path: str):
    """The model to train and the peft config for a fresh LoRA adapter (None when off or continuing one)."""
    model = load_model(run.model, run.hardware, model_path)
    if run.model.load_in_4bit or run.model.load_in_8bit:
        model = lora.prepare_quantized(model, run.training.gradient_checkpointing)
    fresh_adapter = run.model.lora.enabled and not lora.is_adapter_folder(model_path)
    return model, lora.peft_config(run.model.lora) if fresh_adapter else None


def save_outputs(trainer, tokenizer, run: RunConfig, summary: dict) -> None:
    """Model (or adapter) + tokenizer + model card; with LoRA merge_on_save also <output_dir>/merged."""
    out = Path(run.training.output_dir)
    tokenizer.save_pretrained(out)
    write_model_card(out, run, summary)
    (out / RUN_CONFIG_FILE).write_text(yaml.safe_dump(redact(to_dict(run)), sort_keys=False))
    if run.model.lora.merge_on_save and hasattr(trainer.model, "merge_and_unload"):
        merged = lora.save_merged(trainer.model, tokenizer, out / "merged")
        write_model_card(merged, run, summary)


def train(run: RunConfig) -> dict:
    """Train as `run` says; return (and write to <run_dir>/summary.json) the run summary."""
    plotter = CurvesPlotter() if is_main_process() else None  # loads matplotlib on another core meanwhile
    try:
        return _train(run, plotter)
    finally:
        if plotter is not None:
            plotter.close()


def _train(run: RunConfig, plotter) -> dict:
    started = time.time()
    files = run_files(run)
    run_dir = files.root
    module = algorithms.load(run.algorithm.trainer)
    main = is_main_process()
    resuming = run.resuming
    log_file = attach_log_file(run.training.run_name) if main else None

    datasets.disable_progress_bars()
    set_seed(run.training.seed)
    model_path = resolve_model_path(run.model.base_model_name, run.model.s3_endpoint_url, run.model.s3_region)
    tokenizer = load_tokenizer(run.model, model_path)
    train_ds, eval_ds = module.load_data(run, tokenizer)  # data errors surface before the model loads
    check_batch_fits(run, len(train_ds), module.examples_per_row(run.algorithm))
    with sharded_loading(run):  # ZeRO-3: each rank holds only its shard from the start
        model, peft_config = load_policy(run, model_path)
    log.info("model loaded: %s", held_parameters(model))
    log.info("%s: %d training rows, %s eval rows; %s", run.algorithm.name, len(train_ds),
             len(eval_ds) if eval_ds else 0, batch_line(run))
    trackers = Trackers(run, run_dir) if main else None
    uploader = Uploader(run) if main and run.upload.url else None
    stop_signals = watchdog = None
    try:
        trainer = module.build_trainer(run, model, tokenizer, train_ds, eval_ds, common_args(run),
                                       peft_config=peft_config)
        log.info(check_processes(run, trainer.accelerator))
        metrics_log = MetricsLog(files.metrics)
        stop_signals = StopSignals(save_resumable=not run.training.save_only_model)  # Ctrl-C stops cleanly
        uploads = [UploadCheckpoints(uploader)] if uploader and run.upload.checkpoints else []
        if run.watchdog_seconds:  # a step that never ends stops the job with every rank's stacks
            watchdog = Watchdog(run.watchdog_seconds, run_dir, int(os.environ.get("RANK", "0")), run.world_size,
                                in_process=not launched(run))
        e, best_metric = run.evaluation, best_model_metric(run)
        alarm = RewardAlarm(module.TRAIN_REWARD, e.alarm_metric, e.alarm_evals, e.stop_on_alarm) \
            if e.alarm_metric and module.TRAIN_REWARD else None
        best_check = RequireBestMetric(best_metric) if best_metric else None
        for callback in (metrics_log, MarkCheckpointComplete(), *uploads, stop_signals, watchdog, best_check, alarm,
                         *(trackers.callbacks() if trackers else [])):
            if callback is not None:
                trainer.add_callback(callback)
        guard_finite_loss(trainer)
        if resuming and main:
            set_aside_incomplete(run.training.output_dir)
        resume_from = resolve_resume(run.training.resume, run.training.output_dir) if resuming else None
        if resume_from:
            log.info("resuming from %s", resume_from)

        eval_before = EvalBefore(trainer, module.evaluate)
        if eval_ds is not None:
            trainer.add_callback(eval_before)
        train_started = time.time()
        if resume_from and checkpoint_step(resume_from) >= run.training.max_steps > 0:
            result = finish_from_checkpoint(trainer, resume_from)
        else:
            result = trainer.train(resume_from_checkpoint=resume_from)
        train_runtime = time.time() - train_started - eval_before.seconds
        stop_signals.restore()  # evaluating and saving the finished run: Ctrl-C stops at once
        if stop_signals.received is not None:
            done = complete_checkpoints(run.training.output_dir) if not run.training.save_only_model else []
            raise stop_signals.stopped(trainer.state.global_step, run.training.output_dir,
                                       done[-1] if done else None, resume_command(run))
        eval_after = module.evaluate(trainer) if eval_ds is not None else {}
        if main:  # the metrics are complete: the plot is drawn while the model is saved
            plotter.start(run_dir, f"{run.algorithm.name}: {run.training.run_name}")
        trainer.save_model(run.training.output_dir)
    except BaseException as err:
        if uploader:
            uploader.finish()  # a stopped or failed run still completes the uploads of its checkpoints
        if trackers:
            trackers.finish([], failed=True)
        failure = failed_write(err, run.training.output_dir, not run.training.save_only_model)
        if failure:
            raise failure from err
        raise
    finally:
        if watchdog is not None:
            watchdog.stop()
        if stop_signals is not None:
            stop_signals.restore()
        if trackers:
            trackers.close_training()
    final = metrics_log.last_train_metrics()
    objective_metric = run.training.objective_metric or module.OBJECTIVE
    objective = pick_objective(objective_metric, run.training.objective_metric is not None, eval_after, final)
    summary = {
        "algorithm": run.algorithm.name,
        "status": "completed",
        "steps": trainer.state.global_step,
        "resumed_from": resume_from,
        "world_size": trainer.accelerator.num_processes,
        "effective_batch_size": run.effective_batch_size,
        "train_runtime_s": train_runtime,
        "total_runtime_s": time.time() - started,
        "train_loss": result.training_loss,
        "final_metrics": final,
        "eval_before": eval_before.metrics,
        "eval_after": eval_after,
        "headline_metrics": list(module.HEADLINE),
        "objective_metric": objective_metric,
        "objective": objective,
        **best_checkpoint(trainer.state, best_metric, run.training.load_best_model_at_end),
        **(alarm.summary() if alarm else {}),
        "output_dir": str(Path(run.training.output_dir).resolve()),
        "run_dir": str(run_dir.resolve()),
        "log_file": str(log_file.resolve()) if log_file else None,
    }
    if main:
        save_outputs(trainer, tokenizer, run, summary)
        if uploader:
            if run.upload.final_model:
                uploader.final_model(Path(run.training.output_dir))
            summary["upload"] = uploader.finish()
        write_summary(files.summary, summary)
        plotter.finish()
        trackers.finish([files.summary, files.curves])
        print(describe(summary), flush=True)
        check_uploads(run, summary.get("upload"))
    return summary


def check_uploads(run: RunConfig, report) -> None:
    """Failed uploads are reported in the log and summary.json; with upload.required they fail the run."""
    if report and report["failed"] and run.upload.required:
        raise RunFailed(f"{len(report['failed'])} upload(s) to {report['url']} failed (upload.required=true): "
                        f"{report['failed'][0]['what']}: {report['failed'][0]['error']}")
