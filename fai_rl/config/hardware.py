"""Cross-field rules of the hardware section (processes, nodes, ZeRO stage, offload, rendezvous)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from fai_rl.errors import ConfigError

ADAMW_OPTIMS = ("adamw_torch", "adamw_torch_fused", "adamw_hf", "adamw")
ALLOC_CONF = "PYTORCH_CUDA_ALLOC_CONF"  # torch's CUDA caching allocator settings, read when CUDA starts
DEFAULT_ALLOC_CONF = "expandable_segments:True"  # hardware.cuda_alloc_conf's default (docs/scaling.md)


def check_hardware(run) -> None:
    h = run.hardware
    for name in ("num_processes", "num_nodes"):
        if getattr(h, name) <= 0:
            raise ConfigError(f"'hardware.{name}' must be > 0, got {getattr(h, name)}")
    if h.vllm_gpus:
        check_vllm_gpus(run)
    if h.offload != "none" and h.zero_stage == 0:
        raise ConfigError(f"'hardware.offload={h.offload}' needs DeepSpeed ZeRO: set hardware.zero_stage to 1, 2 or 3")
    if h.offload == "optimizer_and_params" and h.zero_stage != 3:
        raise ConfigError("'hardware.offload=optimizer_and_params' offloads parameters, which only ZeRO-3 "
                          f"partitions: set hardware.zero_stage=3 (got {h.zero_stage}) or hardware.offload=optimizer")
    if h.offload != "none" and run.training.optim not in ADAMW_OPTIMS:
        raise ConfigError(f"'hardware.offload={h.offload}' runs DeepSpeed's CPU AdamW; 'training.optim' "
                          f"'{run.training.optim}' cannot be offloaded: use one of {', '.join(ADAMW_OPTIMS)}")
    if h.machine_rank is not None and not 0 <= h.machine_rank < h.num_nodes:
        raise ConfigError(f"'hardware.machine_rank' must be in 0..{h.num_nodes - 1} "
                          f"(hardware.num_nodes={h.num_nodes}), got {h.machine_rank}")
    if h.main_process_port is not None and not 0 < h.main_process_port < 65536:
        raise ConfigError(f"'hardware.main_process_port' must be a TCP port 1..65535, got {h.main_process_port}")
    if h.zero3_live_parameters is not None:
        if h.zero_stage != 3:
            raise ConfigError(f"'hardware.zero3_live_parameters' only applies to ZeRO-3 (hardware.zero_stage=3, got "
                              f"{h.zero_stage}); remove it or set hardware.zero_stage=3")
        if h.zero3_live_parameters <= 0:
            raise ConfigError(f"'hardware.zero3_live_parameters' must be > 0, got {h.zero3_live_parameters}")
    if h.cuda_alloc_conf is not None and not is_alloc_conf(h.cuda_alloc_conf):
        raise ConfigError(f"'hardware.cuda_alloc_conf' must be PYTORCH_CUDA_ALLOC_CONF's 'key:value[,key:value...]' "
                          f"(e.g. expandable_segments:True), or null for PyTorch's default; got "
                          f"'{h.cuda_alloc_conf}'")
    if h.deepspeed_config is not None:
        stage = user_stage(read_user_config(h.deepspeed_config))
        if stage != h.zero_stage:
            raise ConfigError(f"'hardware.deepspeed_config' '{h.deepspeed_config}' sets ZeRO stage {stage} but "
                              f"hardware.zero_stage is {h.zero_stage}: set hardware.zero_stage={stage}"
                              + (" (a DeepSpeed config needs a ZeRO stage of 1, 2 or 3)" if stage == 0 else ""))
    if h.zero_stage == 3 and run.model.lora.merge_on_save:
        raise ConfigError("'model.lora.merge_on_save' merges on rank 0, which under ZeRO-3 holds only a shard; "
                          "use hardware.zero_stage=2 (or 0), or merge the saved adapter afterwards")


def is_alloc_conf(text: str) -> bool:
    items = [item.split(":") for item in text.split(",")]
    return all(len(parts) == 2 and all(part.strip() for part in parts) for parts in items)


def prefer_expandable_segments(env=os.environ) -> None:
    """For a process about to generate with transformers' generate, before torch loads: PyTorch's CUDA allocator with
    expandable segments, so the KV cache that grows every token leaves nothing cached behind (docs/scaling.md),
    unless PYTORCH_CUDA_ALLOC_CONF is set (the user's wins)."""
    env.setdefault(ALLOC_CONF, DEFAULT_ALLOC_CONF)


def expandable(conf) -> bool:
    """Whether an allocator setting (None: PyTorch's default) turns expandable segments on."""
    return "expandable_segments:true" in (conf or "").replace(" ", "").lower()


def check_vllm_gpus(run) -> None:
    """GPUs reserved for a vLLM server: only for one, on one node, leaving at least one GPU to train."""
    h = run.hardware
    if h.vllm_gpus < 0:
        raise ConfigError(f"'hardware.vllm_gpus' must be >= 0, got {h.vllm_gpus}")
    if h.vllm_gpus >= h.num_processes:
        raise ConfigError(f"'hardware.vllm_gpus' ({h.vllm_gpus}) must leave a GPU to train: it must be below "
                          f"hardware.num_processes ({h.num_processes})")
    if h.num_nodes > 1:
        raise ConfigError(f"'hardware.vllm_gpus' runs the vLLM server on this node: it needs hardware.num_nodes=1 "
                          f"(got {h.num_nodes}); use algorithm.generation.vllm_mode=colocate on several nodes")


def read_user_config(path: str) -> dict:
    """hardware.deepspeed_config: the user's DeepSpeed JSON, or a ConfigError naming the file and the problem."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"'hardware.deepspeed_config' '{path}' is not a file; give the path of a DeepSpeed JSON "
                          "(relative to where you launch) or null for the generated config")
    try:
        config = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"'hardware.deepspeed_config' '{path}' is not valid JSON: {err}")
    if not isinstance(config, dict):
        raise ConfigError(f"'hardware.deepspeed_config' '{path}' must hold a JSON object, got {type(config).__name__}")
    return config


def user_stage(config: dict) -> int:
    return int((config.get("zero_optimization") or {}).get("stage", 0))
