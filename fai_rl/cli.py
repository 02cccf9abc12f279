"""`fai-rl`: compose (Hydra) -> validate (schema) -> write the run dir -> launch. Returns the objective."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from fai_rl.config.errors import ConfigError, RunStopped
from fai_rl.config.overrides import CONF_DIR, HELP_FLAGS, check_overrides
from fai_rl.config.validate import to_dict, validate
from fai_rl.sweeps import callback, sweep_job

_task_started = False


def _model_dir(single_run_default: str) -> str:
    """Single run: the given default; multirun job: <job dir>/model, so jobs never share an output dir."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return os.path.join(HydraConfig.get().runtime.output_dir, "model")
    return single_run_default


def register_resolvers() -> None:
    from fai_rl.sweeps.study import sqlite_url, study_seed

    for name, resolver in (("fai_rl.model_dir", _model_dir), ("fai_rl.sqlite", sqlite_url),
                           ("fai_rl.study_seed", study_seed)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


register_resolvers()  # also in processes that only import this module (Hydra's submitit jobs)


def compose(overrides, return_hydra_config: bool = False) -> DictConfig:
    """conf/train.yaml composed with `overrides` outside @hydra.main (Hydra's compose API)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra_compose(config_name="train", overrides=list(overrides), return_hydra_config=return_hydra_config)


def fail(err: Exception) -> "typing.NoReturn":  # noqa: F821
    print(f"fai-rl: error: {err}", file=sys.stderr, flush=True)
    sys.exit(getattr(err, "exit_code", 2))


def write_resolved_config(run) -> Path:
    path = Path(run.run_dir) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    from fai_rl.tracking.secrets import redact

    path.write_text(OmegaConf.to_yaml(OmegaConf.create(redact(to_dict(run)))))
    return path


def run_task(cfg: DictConfig) -> dict:
    """validate -> write the resolved config -> launch; the run summary."""
    run = validate(cfg)
    write_resolved_config(run)
    from fai_rl.launch import launch

    return launch(run)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="train")
def hydra_entry(cfg: DictConfig):
    task_started()
    if sweep_job.in_multirun():  # a failing job is recorded as failed; the sweep goes on
        return sweep_job.run_job(cfg, run_task)
    try:
        summary = run_task(cfg)
    except RunStopped as err:
        if isinstance(err, ConfigError):
            discard_unused_run_dir()
        fail(err)
    return summary.get("objective")


def discard_unused_run_dir() -> None:
    """A config refused before anything was written leaves no run dir behind: remove the one Hydra made for this
    run when it holds only Hydra's own files (.hydra/ and an empty job log), and its run_name folder if now empty."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    job_log = out / f"{hydra_cfg.job.name}.log"
    if not out.is_dir() or {p.name for p in out.iterdir()} - {".hydra", job_log.name}:
        return
    if job_log.exists() and job_log.stat().st_size:
        return
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    try:
        out.parent.rmdir()  # runs/<run_name>/, only if no other run is in it
    except OSError:
        pass


def run_hydra(entry):
    """Check the overrides, then run a @hydra.main entry; a config Hydra refuses exits with 2, like ours."""
    register_resolvers()
    if HELP_FLAGS & set(sys.argv[1:]):
        from fai_rl.config import help

        help.install()
    try:
        check_overrides(sys.argv[1:])
    except ConfigError as err:
        fail(err)
    try:
        return entry()
    except SystemExit as exit_:
        if exit_.code == 1 and not _task_started:  # Hydra refused the config before our task ran
            raise SystemExit(2)
        raise


def task_started() -> None:
    global _task_started
    _task_started = True


def main():
    result = run_hydra(hydra_entry)
    if callback.failed_jobs:  # a sweep ended with failed jobs (listed by the callback); the rest are kept
        sys.exit(1)
    return result


if __name__ == "__main__":
    main()
