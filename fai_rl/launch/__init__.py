"""Run a validated config: in this process for one process; (multi-process launch lands with the hardware work)."""
from __future__ import annotations

from fai_rl.config.errors import ConfigError


def launch(run) -> dict:
    if run.world_size > 1 or run.hardware.zero_stage > 0:
        raise ConfigError(
            f"hardware '{run.hardware.name}' asks for {run.world_size} processes / ZeRO stage "
            f"{run.hardware.zero_stage}; multi-process launch is not available yet, use hardware=cpu or hardware=gpu"
        )
    from fai_rl.train import train

    return train(run)
