"""A GPU run must find as many CUDA GPUs on this node as it asks for, before anything else starts."""
from __future__ import annotations

import torch

from fai_rl.config.errors import ConfigError
from fai_rl.config.schema import RunConfig


def check_gpus(run: RunConfig) -> None:
    found = torch.cuda.device_count()
    if found < run.hardware.num_processes:
        raise ConfigError(
            f"hardware '{run.hardware.name}' asks for {run.hardware.num_processes} GPU(s) per node "
            f"(hardware.num_processes) but this machine has {found} CUDA GPU(s); use hardware=cpu, or "
            f"hardware.num_processes<={found}" if found else
            f"hardware '{run.hardware.name}' needs CUDA GPUs but this machine has none; use hardware=cpu"
        )
