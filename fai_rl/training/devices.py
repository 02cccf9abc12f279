"""The CUDA GPUs this process sees: their memory for the launch pre-flight (fai_rl.launch.preflight.check_gpus), and
what a run used of it (summary.json)."""
from __future__ import annotations

import torch


def cuda_memory() -> list:
    """Total memory in bytes of each visible CUDA GPU, in device order ([] without CUDA)."""
    return [torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count())]


def peak_gpu_memory():
    """This rank's peak GPU memory in GiB: allocated by tensors and reserved by torch's caching allocator (what
    nvidia-smi shows, less the CUDA context); None without CUDA. The memory estimate is checked against these."""
    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return {"allocated_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 2),
            "reserved_gib": round(torch.cuda.max_memory_reserved() / 2 ** 30, 2)}
