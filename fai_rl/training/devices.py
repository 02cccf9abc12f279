"""The CUDA GPUs this process sees, for the launch pre-flight (fai_rl.launch.preflight.check_gpus)."""
from __future__ import annotations

import torch


def cuda_memory() -> list:
    """Total memory in bytes of each visible CUDA GPU, in device order ([] without CUDA)."""
    return [torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count())]
