"""Validate a composed config: types and unknown keys, then the cross-field rules, before any model loads."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from omegaconf import OmegaConf

from fai_rl import algorithms
from fai_rl.config.hardware import check_hardware
from fai_rl.config.paths import BUILTIN_PREFIX, DATA_FILE_FORMATS, RUN_PREFIX, check_model_name, newest_run_model
from fai_rl.config.schema import RunConfig
from fai_rl.config.typed import build
from fai_rl.errors import ConfigError
from fai_rl.storage.remote import is_remote


def to_plain(cfg: Any) -> dict:
    """DictConfig (resolved) or mapping -> plain dict."""
    if isinstance(cfg, dict):
        return cfg
    return OmegaConf.to_container(cfg, resolve=True)


def validate(cfg: Any) -> RunConfig:
    """Composed config (DictConfig or dict) -> typed RunConfig, or ConfigError naming the bad field."""
    raw = dict(to_plain(cfg))
    algo_raw = raw.pop("algorithm", None)
    if not isinstance(algo_raw, Mapping) or "trainer" not in algo_raw:
        raise ConfigError(
            f"'algorithm' must be chosen from conf/algorithm ({', '.join(algorithms.available())}) "
            "and set algorithm.trainer"
        )
    module = algorithms.load(str(algo_raw["trainer"]))
    run = build(RunConfig, raw)
    run.algorithm = build(module.Settings, dict(algo_raw), "algorithm")
    check_common(run)
    module.check(run)
    if run.hardware.vllm_gpus > 0 and module.generation_server(run) is None:
        raise ConfigError(f"'hardware.vllm_gpus' ({run.hardware.vllm_gpus}) reserves GPUs for a vLLM server, which "
                          "only algorithm.generation.backend=vllm with algorithm.generation.vllm_mode=server starts; "
                          "set hardware.vllm_gpus=0 or choose that mode (GRPO/GSPO)")
    return run


def _positive(value, where: str, allow_zero: bool = False) -> None:
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"'{where}' must be {bound}, got {value}")


def check_common(run: RunConfig) -> None:
    """Cross-field rules shared by every algorithm."""
    t, d, m, h = run.training, run.data, run.model, run.hardware
    _positive(t.learning_rate, "training.learning_rate")
    _positive(t.per_device_train_batch_size, "training.per_device_train_batch_size")
    _positive(t.per_device_eval_batch_size, "training.per_device_eval_batch_size")
    _positive(t.gradient_accumulation_steps, "training.gradient_accumulation_steps")
    _positive(t.num_train_epochs, "training.num_train_epochs")
    _positive(t.logging_steps, "training.logging_steps")
    _positive(t.save_steps, "training.save_steps")
    _positive(t.warmup_steps, "training.warmup_steps", allow_zero=True)
    _positive(t.dataloader_num_workers, "training.dataloader_num_workers", allow_zero=True)
    _positive(t.disk_headroom_gb, "training.disk_headroom_gb", allow_zero=True)
    if t.kernels == "liger" and h.device != "cuda":
        raise ConfigError(f"training.kernels=liger needs CUDA (Liger's kernels are Triton GPU kernels) but "
                          f"hardware.device is {h.device}; use training.kernels=auto or none")
    if t.eval_steps is not None:
        _positive(t.eval_steps, "training.eval_steps")
    check_held_out(run)
    if t.max_steps == 0 or t.max_steps < -1:
        raise ConfigError(f"'training.max_steps' must be > 0 (or -1 to use num_train_epochs), got {t.max_steps}")
    if not t.output_dir.strip():
        raise ConfigError("'training.output_dir' is empty; give a folder path such as models/my-run")
    if not t.run_name.strip():
        raise ConfigError("'training.run_name' is empty; give a name such as my-experiment")
    if t.resume is not False and t.resume != "false" and t.save_only_model:
        raise ConfigError("'training.resume' needs full checkpoints (optimizer, scheduler, RNG): "
                          "set training.save_only_model=false")
    if run.use_bf16 and run.use_fp16:
        raise ConfigError("'training.bf16' and 'training.fp16' are both on; choose one precision")
    _positive(d.max_length, "data.max_length")
    _positive(d.max_prompt_length, "data.max_prompt_length")
    if d.max_prompt_length >= d.max_length:
        raise ConfigError(
            f"'data.max_prompt_length' ({d.max_prompt_length}) must be smaller than 'data.max_length' "
            f"({d.max_length}): the rest is the room left for responses"
        )
    if not d.datasets:
        raise ConfigError("'data.datasets' is empty; give at least one dataset {name: ...}")
    for group in ("datasets", "eval_datasets"):
        for i, spec in enumerate(getattr(d, group)):
            if not spec.name.strip():
                raise ConfigError(f"'data.{group}.{i}.name' is empty; give a hub name, a local file or builtin:<name>")
            if spec.max_samples is not None:
                _positive(spec.max_samples, f"data.{group}.{i}.max_samples")
    if not m.base_model_name.strip():
        raise ConfigError("'model.base_model_name' is empty; give a hub name, a local folder or builtin:tiny")
    for group in ("datasets", "eval_datasets"):
        for i, spec in enumerate(getattr(d, group)):
            if is_remote(spec.name) and Path(spec.name).suffix.lower() not in DATA_FILE_FORMATS:
                raise ConfigError(f"'data.{group}.{i}.name' '{spec.name}' is in object storage and must be a "
                                  f"{'/'.join(DATA_FILE_FORMATS)} file")
    if t.save_total_limit is not None:
        _positive(t.save_total_limit, "training.save_total_limit")
    if t.watchdog_s is not None:
        _positive(t.watchdog_s, "training.watchdog_s", allow_zero=True)
    _positive(run.upload.retries, "upload.retries", allow_zero=True)
    if h.deepspeed_config:  # relative to where fai-rl was launched; every rank reads the absolute path
        h.deepspeed_config = str(Path(h.deepspeed_config).expanduser().resolve())
    if m.base_model_name.startswith(RUN_PREFIX):
        m.base_model_name = newest_run_model(m.base_model_name)  # the config written for the run names the path
    if not m.base_model_name.startswith(BUILTIN_PREFIX):
        check_model_name(m.base_model_name)
    if m.load_in_8bit and m.load_in_4bit:
        raise ConfigError("'model.load_in_8bit' and 'model.load_in_4bit' are both on; choose one")
    if (m.load_in_8bit or m.load_in_4bit) and not m.lora.enabled:
        raise ConfigError(
            "'model.load_in_4bit'/'model.load_in_8bit' need 'model.lora.enabled=true' (QLoRA): "
            "quantised weights cannot be trained directly"
        )
    if (m.load_in_8bit or m.load_in_4bit) and h.device != "cuda":
        raise ConfigError(
            "'model.load_in_4bit'/'model.load_in_8bit' need a CUDA GPU (bitsandbytes); "
            f"hardware.device is '{h.device}'"
        )
    if m.lora.enabled:
        _positive(m.lora.r, "model.lora.r")
        _positive(m.lora.alpha, "model.lora.alpha")
        if not 0.0 <= m.lora.dropout < 1.0:
            raise ConfigError(f"'model.lora.dropout' must be in [0, 1), got {m.lora.dropout}")
        if not m.lora.target_modules:
            raise ConfigError("'model.lora.target_modules' is empty; use [all-linear] or module names like [q_proj]")
    check_hardware(run)
    check_evaluation(run)


def check_evaluation(run: RunConfig) -> None:
    """The evaluations during training: best checkpoint, task metrics, reward-hacking alarm."""
    t, e = run.training, run.evaluation
    if e.task_rows is not None:
        _positive(e.task_rows, "evaluation.task_rows")
    _positive(e.pass_k, "evaluation.pass_k", allow_zero=True)
    if e.alarm_evals < 2:
        raise ConfigError(f"'evaluation.alarm_evals' must be >= 2 (a rise and a fall need two evaluations), "
                          f"got {e.alarm_evals}")
    if e.stop_on_alarm and not e.alarm_metric:
        raise ConfigError("'evaluation.stop_on_alarm' is true but evaluation.alarm_metric is null: no alarm to stop "
                          "on; name the eval metric to watch, e.g. evaluation.alarm_metric=eval_exact_answer_accuracy")
    best = "training.load_best_model_at_end" if t.load_best_model_at_end else "training.metric_for_best_model"
    if not (t.load_best_model_at_end or t.metric_for_best_model):
        return
    if t.eval_steps is None or not run.evaluates:
        raise ConfigError(f"'{best}' needs evaluations during training: set training.eval_steps and "
                          "data.eval_datasets or training.eval_split_ratio (the best checkpoint is picked among "
                          "those evaluations)")
    if t.load_best_model_at_end and t.save_steps != t.eval_steps:
        raise ConfigError(f"'training.load_best_model_at_end' needs a checkpoint at every evaluated step: "
                          f"training.save_steps ({t.save_steps}) must equal training.eval_steps ({t.eval_steps}); "
                          f"set training.save_steps={t.eval_steps}")
    if t.load_best_model_at_end and t.save_only_model and run.hardware.zero_stage > 0:
        raise ConfigError("'training.load_best_model_at_end' under DeepSpeed cannot load a model-only checkpoint: "
                          "set training.save_only_model=false")


def to_dict(run: RunConfig) -> dict:
    return dataclasses.asdict(run)


def check_held_out(run: RunConfig) -> None:
    """training.eval_split_ratio and early stopping."""
    t = run.training
    if not 0 <= t.eval_split_ratio < 1:
        raise ConfigError(f"'training.eval_split_ratio' must be in [0, 1) (a share of the training rows), got "
                          f"{t.eval_split_ratio}")
    if t.eval_split_ratio and run.data.eval_datasets:
        raise ConfigError("'training.eval_split_ratio' holds out eval rows but data.eval_datasets gives eval data "
                          "too; set training.eval_split_ratio=0 or data.eval_datasets=[]")
    if not t.early_stopping:
        return
    _positive(t.early_stopping_patience, "training.early_stopping_patience")
    _positive(t.early_stopping_threshold, "training.early_stopping_threshold", allow_zero=True)
    if not t.load_best_model_at_end:
        raise ConfigError("'training.early_stopping' needs training.load_best_model_at_end=true (it stops on the "
                          "best-model metric and keeps the best checkpoint), with training.save_steps equal to "
                          "training.eval_steps")
