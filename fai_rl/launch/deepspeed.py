"""The DeepSpeed config, generated from the hardware group and the training section (never kept by hand).

Batch sizes, accumulation, clipping and precision are written out from the same fields that build TRL's
arguments (fai_rl/training/arguments.py), so the file reads true and Transformers' own consistency check
(HfTrainerDeepSpeedConfig) passes; values that depend on the model (bucket sizes) and the offloaded
optimizer's hyperparameters stay "auto" for Transformers to fill.
"""
from __future__ import annotations

import json
from pathlib import Path

from fai_rl.config.hardware import read_user_config
from fai_rl.config.run_files import run_files
from fai_rl.config.schema import RunConfig


def config_path(run: RunConfig) -> str:
    """Where the run's DeepSpeed config lives: <run_dir>/deepspeed.json (absolute, the same for every rank)."""
    return str(run_files(run).deepspeed.resolve())


def _zero_section(run: RunConfig) -> dict:
    h = run.hardware
    zero = {"stage": h.zero_stage, "overlap_comm": h.device == "cuda", "contiguous_gradients": True,
            "reduce_bucket_size": "auto"}
    if h.zero_stage in (1, 2):
        zero.update(allgather_partitions=True, allgather_bucket_size=int(5e8), reduce_scatter=True)
    if h.zero_stage == 3:
        live = h.zero3_live_parameters or int(1e9)
        zero.update(stage3_prefetch_bucket_size="auto", stage3_param_persistence_threshold="auto",
                    stage3_max_live_parameters=live, stage3_max_reuse_distance=live,
                    stage3_gather_16bit_weights_on_model_save=True)  # save_model writes the full model
    pin = h.device == "cuda"
    if h.offload in ("optimizer", "optimizer_and_params"):
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": pin}
    if h.offload == "optimizer_and_params":
        zero["offload_param"] = {"device": "cpu", "pin_memory": pin}
    return zero


def _filled(user: dict, generated: dict) -> dict:
    """The user's config with each "auto" that the run decides (batch sizes, accumulation, clipping, precision)
    replaced by the run's value; other "auto" values stay for Transformers to fill."""
    config = json.loads(json.dumps(user))
    for key in ("train_batch_size", "train_micro_batch_size_per_gpu", "gradient_accumulation_steps",
                "gradient_clipping"):
        if config.get(key) == "auto":
            config[key] = generated[key]
    for precision in ("bf16", "fp16"):
        if isinstance(config.get(precision), dict) and config[precision].get("enabled") == "auto":
            config[precision]["enabled"] = generated[precision]["enabled"]
    return config


def build(run: RunConfig) -> dict:
    """The DeepSpeed config for `run` (hardware.zero_stage 1, 2 or 3): generated from the hardware and training
    sections, or the user's own (hardware.deepspeed_config) with the run's values in its "auto" fields."""
    generated = _generated(run)
    if run.hardware.deepspeed_config:
        return _filled(read_user_config(run.hardware.deepspeed_config), generated)
    return generated


def _generated(run: RunConfig) -> dict:
    t = run.training
    config = {
        "train_batch_size": run.effective_batch_size,
        "train_micro_batch_size_per_gpu": t.per_device_train_batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps,
        "gradient_clipping": t.max_grad_norm,
        "bf16": {"enabled": run.use_bf16},
        "fp16": {"enabled": run.use_fp16, "loss_scale": 0, "initial_scale_power": 16},
        "zero_optimization": _zero_section(run),
        "steps_per_print": 1_000_000,  # the trainer logs; DeepSpeed's own step prints only add noise
        "wall_clock_breakdown": False,
    }
    if run.hardware.offload != "none":  # an offloaded optimizer must be DeepSpeed's (CPU Adam)
        config["optimizer"] = {"type": "AdamW", "params": {"lr": "auto", "betas": "auto", "eps": "auto",
                                                           "weight_decay": "auto"}}
    return config


def write(run: RunConfig) -> str:
    path = Path(config_path(run))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(build(run), indent=2) + "\n")
    return str(path)
