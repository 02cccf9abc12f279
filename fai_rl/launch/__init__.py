"""Run a validated config: in this process for one process, else `accelerate launch` of fai_rl.worker per node.

No torch import here: the front process only writes files and starts the launcher.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from fai_rl.config.errors import ConfigError, RunFailed
from fai_rl.config.schema import RunConfig


def launched(run: RunConfig) -> bool:
    """True when the run goes through `accelerate launch` (several processes or DeepSpeed), not in-process."""
    return run.world_size > 1 or run.hardware.zero_stage > 0


def batch_line(run: RunConfig) -> str:
    t = run.training
    return (f"effective batch {run.effective_batch_size} = {t.per_device_train_batch_size} per device x "
            f"{t.gradient_accumulation_steps} accumulation x {run.world_size} processes")


def check_batch_fits(run: RunConfig, train_rows: int) -> None:
    """One optimizer step needs effective-batch examples; a row yields algorithm.num_generations of them (GRPO)."""
    per_row = getattr(run.algorithm, "num_generations", 1)
    if train_rows * per_row < run.effective_batch_size:
        raise ConfigError(f"the {batch_line(run)} exceeds the {train_rows} training rows of data.datasets; lower "
                          "training.per_device_train_batch_size, gradient_accumulation_steps or hardware.num_processes")


def check_gpus(run: RunConfig) -> None:
    """A GPU run must find as many CUDA GPUs on this node as it asks for, before anything else starts."""
    if run.hardware.device != "cuda":
        return
    import torch

    found = torch.cuda.device_count()
    if found < run.hardware.num_processes:
        raise ConfigError(
            f"hardware '{run.hardware.name}' asks for {run.hardware.num_processes} GPU(s) per node "
            f"(hardware.num_processes) but this machine has {found} CUDA GPU(s); use hardware=cpu, or "
            f"hardware.num_processes<={found}" if found else
            f"hardware '{run.hardware.name}' needs CUDA GPUs but this machine has none; use hardware=cpu"
        )


def launch(run: RunConfig) -> dict:
    """Train as `run` says (or, with hardware.dry_run, print how); return the run summary."""
    from fai_rl.output_guard import check_output_dir

    print(f"fai-rl: {batch_line(run)}", flush=True)
    if run.hardware.dry_run:
        from .dry_run import describe

        print(describe(run), flush=True)
        return {"status": "dry_run"}
    check_output_dir(run.training.output_dir, run.training.overwrite_output_dir or run.resuming)
    check_gpus(run)
    if not launched(run):
        from fai_rl.train import train

        return train(run)
    return launch_workers(run)


def launch_workers(run: RunConfig) -> dict:
    from . import commands, deepspeed_config
    from .workers import Interrupted, run_supervised

    if run.hardware.zero_stage > 0:
        deepspeed_config.write(run)
    rdzv = commands.rendezvous(run)
    if run.hardware.num_nodes > 1 and not rdzv.main_process_ip:
        raise ConfigError("'hardware.main_process_ip' is not set and no scheduler variable gives it "
                          "(MASTER_ADDR, SLURM_JOB_NODELIST); set it to the host name of node 0")
    argv, extra = commands.launch_argv(run, rdzv), commands.worker_env(run)
    where = f"{run.hardware.num_processes} of {run.world_size} processes" if run.hardware.num_nodes > 1 else \
        f"{run.world_size} processes"
    print(f"fai-rl: launching {where}: {commands.shell_line(argv, extra)}", flush=True)
    try:
        code, failure = run_supervised(argv, {**os.environ, **extra})
    except Interrupted as stop:
        print(f"fai-rl: {stop}: stopped every worker", file=sys.stderr, flush=True)
        sys.exit(128 + stop.signum)
    if code != 0:
        if failure and failure.startswith("fai-rl: error: "):
            raise ConfigError(failure[len("fai-rl: error: "):])
        reason = (failure or "no error line").removeprefix("fai-rl: ")
        raise RunFailed(f"training failed (launcher exit code {code}): {reason}")
    summary = Path(run.run_dir) / "summary.json"
    return json.loads(summary.read_text()) if summary.exists() else {}
