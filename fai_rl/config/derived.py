"""Values derived from a validated run: how it is launched, its batch arithmetic, its precision."""
from __future__ import annotations

from .errors import ConfigError
from .generation import uses_server
from .schema import RunConfig


def launched(run: RunConfig) -> bool:
    """True when the run goes through `accelerate launch` (several processes, DeepSpeed, or beside a vLLM server,
    whose GPUs the training processes must not see), not in-process."""
    return run.world_size > 1 or run.hardware.zero_stage > 0 or uses_server(run)


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
