"""The front process: run a validated config in this process (one process) or as `accelerate launch` of
fai_rl.training.worker per node, supervised; or, with hardware.dry_run, print how.

Light by rule (no torch here): heavy code is entered only through fai_rl.training, imported where it is needed.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from fai_rl import algorithms
from fai_rl.config.derived import batch_line, launched
from fai_rl.config.resolved import secret_fields
from fai_rl.config.run_files import RunFiles
from fai_rl.config.schema import RunConfig
from fai_rl.errors import WORKER_ERROR_PREFIX, ConfigError, RunFailed, SignalReceived
from fai_rl.launch import commands, deepspeed
from fai_rl.launch.dry_run import describe
from fai_rl.launch.generation_server import serve
from fai_rl.launch.memory import allocator_env, checkpoint_bytes, memory_line
from fai_rl.launch.preflight import (
    check_data_files,
    check_free_space,
    check_gpus,
    check_output_dir,
    learning_rate_warning,
)
from fai_rl.launch.tracker_check import check_trackers
from fai_rl.launch.workers import run_supervised
from fai_rl.models.kernel_plan import kernel_plan
from fai_rl.storage.checkpoint_dirs import resolve_resume
from fai_rl.storage.remote import check_reachable
from fai_rl.storage.remote_checkpoints import fetch_newest_checkpoint
from fai_rl.training.watchdog_reports import clear_reports, read_reports, stuck_message


def launch(run: RunConfig) -> dict:
    """Train as `run` says (or, with hardware.dry_run, print how); return the run summary."""
    print(f"fai-rl: {batch_line(run)}", flush=True)
    print(f"fai-rl: {memory_line(run)}", flush=True)
    print(f"fai-rl: {kernel_plan(run).line()}", flush=True)
    warning = learning_rate_warning(run)
    if warning:
        print(f"fai-rl: {warning}", file=sys.stderr, flush=True)
    if run.hardware.dry_run:
        print(describe(run), flush=True)
        return {"status": "dry_run"}
    check_output_dir(run.training.output_dir, run.training.overwrite_output_dir or run.resuming)
    check_free_space(run.training.output_dir, checkpoint_bytes(run), run.training.disk_headroom_gb)
    check_trackers(run)  # a tracker that is down ends the run in seconds, before the model loads
    if run.upload.url:
        check_reachable(run.upload.url, run.upload.endpoint_url, run.upload.region, "upload.url")
        if run.resuming:
            fetch_newest_checkpoint(run.upload, run.training.output_dir)  # a fresh machine continues from the copy in object storage
    if run.resuming:
        resolve_resume(run.training.resume, run.training.output_dir)  # a named checkpoint that is not there
    check_data_files(run)
    if not launched(run):
        os.environ.update(allocator_env(run))  # CUDA only; torch reads it once, when CUDA starts (in check_gpus)
    if run.hardware.device == "cuda":
        check_gpus(run)
    if not launched(run):
        from fai_rl.training.pipeline import train  # heavy: torch and TRL load only when this process trains

        return train(run)
    server = algorithms.load(run.algorithm.trainer).generation_server(run)
    if server:
        with serve(server, run):  # healthy before the workers start, stopped with them (also on failure or a signal)
            return launch_workers(run)
    return launch_workers(run)


def launch_workers(run: RunConfig) -> dict:
    if run.hardware.zero_stage > 0:
        deepspeed.write(run)
    rdzv = commands.rendezvous(run)
    if run.hardware.num_nodes > 1 and not rdzv.main_process_ip:
        raise ConfigError("'hardware.main_process_ip' is not set and no scheduler variable gives it "
                          "(MASTER_ADDR, SLURM_JOB_NODELIST); set it to the host name of node 0")
    argv, extra = commands.launch_argv(run, rdzv), commands.worker_env(run)
    where = f"{run.hardware.num_processes} of {run.world_size} processes" if run.hardware.num_nodes > 1 else \
        f"{run.world_size} processes"
    print(f"fai-rl: launching {where}: {commands.shell_line(argv, extra)}", flush=True)
    clear_reports(run.run_dir)
    try:
        code, failure = run_supervised(argv, {**os.environ, **extra, **secret_fields(run)})  # secrets: not shown
    except SignalReceived as stop:
        print(f"fai-rl: {stop}: stopped every worker", file=sys.stderr, flush=True)
        sys.exit(128 + stop.signum)
    if code != 0:
        stuck = read_reports(run.run_dir)  # the watchdog found a hang: its reports name the stuck rank(s)
        if stuck:
            raise RunFailed(f"training failed (launcher exit code {code}): "
                            f"{stuck_message(stuck, run.world_size, run.run_dir)}")
        if failure and failure.startswith(WORKER_ERROR_PREFIX):
            raise ConfigError(failure[len(WORKER_ERROR_PREFIX):])
        reason = (failure or "no error line").removeprefix("fai-rl: ")
        raise RunFailed(f"training failed (launcher exit code {code}): {reason}")
    summary = RunFiles(Path(run.run_dir)).summary
    return json.loads(summary.read_text()) if summary.exists() else {}
