"""A wandb run named and tagged from the wandb section, holding the resolved config (secrets removed).

HF's WandbCallback (report_to=wandb) finds this run and logs the training metrics into it.
"""
from __future__ import annotations

import os

from fai_rl.config.run_files import run_files
from fai_rl.config.secrets import redact
from fai_rl.config.validate import to_dict


def start(run):
    if not run.wandb.enabled:
        return None
    import wandb  # ~1 s: loaded only when wandb.enabled

    folder = str(run_files(run).root)
    os.environ["WANDB_DIR"] = folder  # this run's, not a previous run's in the same process
    if run.wandb.api_key:
        os.environ["WANDB_API_KEY"] = run.wandb.api_key  # through the environment only: no file holds it
    if run.wandb.base_url:
        os.environ["WANDB_BASE_URL"] = run.wandb.base_url
    return wandb.init(project=run.wandb.project, entity=run.wandb.entity,
                      name=run.wandb.name or run.training.run_name, tags=list(run.wandb.tags), group=run.wandb.group,
                      config=redact(to_dict(run)), dir=folder, reinit="finish_previous")


def finish(wandb_run) -> None:
    if wandb_run is not None:
        wandb_run.finish()
