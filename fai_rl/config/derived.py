"""Values derived from a validated run: how it is launched, its batch arithmetic, its precision."""
from __future__ import annotations

import os
from typing import Mapping

from fai_rl.config.schema import RunConfig
from fai_rl.errors import ConfigError


def launched(run: RunConfig) -> bool:
    """True when the run goes through `accelerate launch` (several processes, DeepSpeed, or beside a generation
    server on reserved GPUs, which the training processes must not see), not in-process."""
    return run.world_size > 1 or run.hardware.zero_stage > 0 or run.hardware.vllm_gpus > 0


def precision(run: RunConfig) -> str:
    return "bf16" if run.use_bf16 else "fp16" if run.use_fp16 else "no"


def batch_line(run: RunConfig) -> str:
    t = run.training
    return (f"effective batch {run.effective_batch_size} = {t.per_device_train_batch_size} per device x "
            f"{t.gradient_accumulation_steps} accumulation x {run.world_size} processes")


def check_batch_fits(run: RunConfig, train_rows: int, examples_per_row: int) -> None:
    """One optimizer step needs effective-batch examples; a data row yields `examples_per_row` of them (the
    algorithm says how many: GRPO samples a group of completions per prompt)."""
    if train_rows * examples_per_row < run.effective_batch_size:
        raise ConfigError(f"the {batch_line(run)} exceeds the {train_rows} training rows of data.datasets; lower "
                          "training.per_device_train_batch_size, gradient_accumulation_steps or hardware.num_processes")


def check_eval_batch_fits(run: RunConfig, eval_rows: int, examples_per_row: int) -> None:
    """With training.dataloader_drop_last (it applies to evaluation too), eval data smaller than one eval batch of
    every process would be evaluated on nothing."""
    needed = run.training.per_device_eval_batch_size * run.world_size
    if run.training.dataloader_drop_last and eval_rows * examples_per_row < needed:
        raise ConfigError(f"the eval data has {eval_rows} rows, fewer than one eval batch (training."
                          f"per_device_eval_batch_size={run.training.per_device_eval_batch_size} x {run.world_size} "
                          "processes), so nothing would be evaluated; lower training.per_device_eval_batch_size or "
                          "give more eval rows")


def gpu_split(run, env: Mapping[str, str] = os.environ) -> tuple:
    """(GPUs that train, GPUs reserved for a generation server) on this node: the first num_processes - vllm_gpus train, the rest
    serve; the ids are those CUDA_VISIBLE_DEVICES lists (a scheduler's share of the node), else 0..num_processes-1."""
    h = run.hardware
    visible = [g.strip() for g in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()] or \
        [str(i) for i in range(h.num_processes)]
    train = h.num_processes - h.vllm_gpus
    return visible[:train], visible[train:h.num_processes]
