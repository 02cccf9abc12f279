"""`fai-rl`: compose (Hydra) -> validate (schema) -> write the run dir -> launch. A sweep's jobs return their
objective to the sweeper."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from fai_rl.cli.entry import fail
from fai_rl.cli.hydra_app import run_hydra
from fai_rl.config.resolved import write_resolved_config
from fai_rl.config.secrets import scrub_files, secret_values
from fai_rl.config.validate import validate
from fai_rl.errors import ConfigError, RunStopped
from fai_rl.launch import launch
from fai_rl.sweeps import sweep_job

PROG = "fai-rl"


def run_task(cfg: DictConfig) -> dict:
    """validate -> write the resolved config -> launch; the run summary."""
    run = validate(cfg)
    write_resolved_config(run)
    return launch(run)


def scrub_hydra_records(cfg: DictConfig) -> None:
    """Hydra writes the overrides and the config into .hydra/ (and multirun.yaml) as given: a secret given on the
    command line (wandb.api_key=...) is replaced there before anything else runs."""
    secrets = secret_values(OmegaConf.to_container(cfg, resolve=False))
    if not secrets:
        return
    hydra_cfg = HydraConfig.get()
    files = list((Path(hydra_cfg.runtime.output_dir) / ".hydra").glob("*.yaml"))
    files += list(Path(hydra_cfg.sweep.dir).glob("multirun.yaml")) if sweep_job.in_multirun() else []
    scrub_files(files, secrets)


def task(cfg: DictConfig):
    scrub_hydra_records(cfg)
    if sweep_job.in_multirun():  # a failing job is recorded as failed; the sweep goes on
        return sweep_job.run_job(cfg, run_task)
    try:
        summary = run_task(cfg)
    except BaseException as err:
        remove_if_empty(OmegaConf.select(cfg, "training.output_dir", default=None, throw_on_resolution_failure=False))
        if isinstance(err, ConfigError):
            discard_unused_run_dir()
        if isinstance(err, RunStopped):
            fail(PROG, err)
        raise
    return summary.get("objective")


def remove_if_empty(folder) -> None:
    """A run that stopped before writing into its output dir leaves no empty folder behind (nor an empty
    models/<run_name>/ above it): the next run into that path need not wonder whether it holds a model."""
    if not folder:
        return
    for path in (Path(folder), Path(folder).parent):
        try:
            path.rmdir()  # only succeeds on an empty folder
        except OSError:
            return


def discard_unused_run_dir() -> None:
    """A config refused before anything was written leaves no run dir behind: remove the one Hydra made for this
    run when it holds only Hydra's own files (.hydra/ and an empty job log), and its run_name folder if now empty."""
    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    job_log = out / f"{hydra_cfg.job.name}.log"
    if not out.is_dir() or {p.name for p in out.iterdir()} - {".hydra", job_log.name}:
        return
    if job_log.exists() and job_log.stat().st_size:
        return
    shutil.rmtree(out, ignore_errors=True)
    try:
        out.parent.rmdir()  # runs/<run_name>/, only if no other run is in it
    except OSError:
        pass


def main() -> None:
    """Console script; a sweep whose jobs did not all complete exits 1 (sweeps.callback). Ctrl-C during training
    stops after the step (training.guards); before it, or a second Ctrl-C, stops at once: exit 130."""
    try:
        run_hydra(task, PROG)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (Ctrl-C): stopped at once; nothing more was saved", file=sys.stderr, flush=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
