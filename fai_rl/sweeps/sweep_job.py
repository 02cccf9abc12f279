"""One job of a multirun sweep: a failure is recorded in the job dir and does not stop the other jobs."""
from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path
from typing import Callable

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import OmegaConf

from fai_rl.config.run_files import RunFiles
from fai_rl.config.secrets import redact
from fai_rl.tracking.summary import write_summary


def shorten(text: str, width: int = 200) -> str:
    return text if len(text) <= width else text[:width] + "..."


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def worst_value() -> float:
    """What a failed job returns: the worst value in the sweeper's direction (Optuna), else NaN.

    hydra-optuna-sweeper 1.3 crashes on NaN; +/-inf is a value Optuna stores and no real result loses to.
    """
    direction = str(HydraConfig.get().sweeper.get("direction", "")).lower()
    if "maximize" in direction:
        return -math.inf
    if "minimize" in direction:
        return math.inf
    return math.nan


def record_failure(job_dir: Path, cfg, err: BaseException) -> dict:
    """summary.json with status failed (stopped when pre-empted) and the error on one line; traceback in error.txt."""
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    error_file = RunFiles(job_dir).error
    error_file.write_text(redact("".join(traceback.format_exception(type(err), err, err.__traceback__))))
    lines = redact(str(err)).strip().splitlines()
    summary = {
        "algorithm": OmegaConf.select(cfg, "algorithm.name", default=None, throw_on_resolution_failure=False),
        "status": "stopped" if getattr(err, "ends_sweep", False) else "failed",  # stopped: pre-empted
        "error": f"{type(err).__name__}: {lines[0] if lines else ''}",
        "error_file": str(error_file.resolve()),
        "objective_metric": OmegaConf.select(cfg, "training.objective_metric", default=None,
                                             throw_on_resolution_failure=False),
        "objective": None,
        "run_dir": str(job_dir.resolve()),
    }
    write_summary(RunFiles(job_dir).summary, summary)
    return summary


def run_job(cfg, task: Callable) -> float:
    """Run `task(cfg)` (which returns the run summary) as a sweep job; return the value the sweeper gets."""
    hydra_cfg = HydraConfig.get()
    try:
        summary = task(cfg)
    except Exception as err:  # noqa: BLE001 - any failure of one job must leave the others running
        failed = record_failure(Path(hydra_cfg.runtime.output_dir), cfg, err)
        print(f"fai-rl: job #{hydra_cfg.job.num} {failed['status']}: {shorten(failed['error'])} "
              f"(traceback: {failed['error_file']})", file=sys.stderr, flush=True)
        if getattr(err, "ends_sweep", False):  # e.g. SIGTERM: the whole sweep is being stopped
            sys.exit(err.exit_code)
        return worst_value()
    objective = summary.get("objective")
    if objective is None or not math.isfinite(float(objective)):
        print(f"fai-rl: job #{hydra_cfg.job.num}: objective {summary.get('objective_metric')} is {objective}; "
              "the sweeper gets the worst value", file=sys.stderr, flush=True)
        return worst_value()
    return float(objective)
