"""A GPU run must find as many CUDA GPUs on this node as it asks for, each with room for the run's estimated
per-rank memory, before anything else starts."""
from __future__ import annotations

import torch

from fai_rl.config.errors import ConfigError
from fai_rl.config.memory import GiB, estimate, fitting_changes, gib
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
    check_memory(run, min(torch.cuda.get_device_properties(i).total_memory for i in range(run.hardware.num_processes)))


def check_memory(run: RunConfig, capacity: int) -> None:
    """Refuse a run whose per-rank estimate exceeds a GPU's `capacity` bytes, naming settings that would fit."""
    est = estimate(run) if run.hardware.check_memory else None
    room = capacity * (1 - est.vllm_share) if est else capacity  # a colocated vLLM keeps its share
    if est is None or est.total <= room:
        return
    fits = fitting_changes(run, room)
    hint = f"these would fit: {'; '.join(fits)}" if fits else \
        "none of ZeRO-3, gradient checkpointing, a halved batch, optimizer offload or LoRA alone would fit"
    vllm = f" ({est.vllm_share:.0%} of it is the colocated vLLM's)" if est.vllm_share else ""
    raise ConfigError(f"the estimated {gib(est.total)} GiB per rank exceeds the {room / GiB:.1f} GiB a GPU of "
                      f"{capacity / GiB:.1f} GiB leaves for training{vllm} ({est.line('cuda')}); {hint}; or set "
                      "hardware.check_memory=false to start anyway")
