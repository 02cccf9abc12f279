"""A wandb run named and tagged from the wandb section, holding the resolved config (secrets removed).

HF's WandbCallback (report_to=wandb) finds this run and logs the training metrics into it (from a thread of its
own: tracking.background). wandb records the command line in its run files: it sees one with its secrets masked.
"""
from __future__ import annotations

import contextlib
import os
import sys

from fai_rl.config.run_files import run_files
from fai_rl.config.secrets import redact, scrub_text, secret_values
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
    with masked_argv(secret_values(to_dict(run))):
        return wandb.init(project=run.wandb.project, entity=run.wandb.entity,
                          name=run.wandb.name or run.training.run_name, tags=list(run.wandb.tags),
                          group=run.wandb.group, config=redact(to_dict(run)), dir=folder, reinit="finish_previous")


@contextlib.contextmanager
def masked_argv(secrets: list):
    """sys.argv with URL passwords and `secrets` (wandb.api_key=...) masked while wandb reads it."""
    argv = sys.argv
    sys.argv = [scrub_text(arg, secrets) for arg in argv]
    try:
        yield
    finally:
        sys.argv = argv


def finish(wandb_run) -> None:
    if wandb_run is not None:
        wandb_run.finish()
