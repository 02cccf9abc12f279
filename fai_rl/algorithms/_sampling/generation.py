"""algorithm.generation: how GRPO/GSPO/RLOO sample completions — transformers' generate (hf) or vLLM on GPUs, in
the training processes (colocate) or in a server on GPUs the hardware preset reserves (server) —, its checks, the
GRPOConfig/RLOOConfig fields it sets, and the vLLM server the front process starts for server mode.

Light by rule: read while validating and launching, before torch loads; the checks name the field and what is valid.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping, Optional

from fai_rl.algorithms._contract import GenerationServer
from fai_rl.config.derived import gpu_split
from fai_rl.config.hardware import ALLOC_CONF, expandable
from fai_rl.config.paths import BUILTIN_PREFIX
from fai_rl.config.schema import setting
from fai_rl.errors import ConfigError
from fai_rl.storage.remote import is_remote

SERVER_HOST = "127.0.0.1"  # fai-rl starts the server on the training node itself
DEFAULT_MEMORY = {"colocate": 0.3, "server": 0.9}  # TRL's defaults: a colocated vLLM shares its GPU with training


@dataclass
class GenerationConfig:
    backend: Literal["hf", "hf_continuous", "vllm"] = setting(
        "hf", "hf: transformers' generate in the training processes (any device); hf_continuous: transformers' "
              "continuous batching with a paged KV cache, in the training processes (TRL's "
              "use_transformers_continuous_batching; CUDA GPUs only: on CPU it is far slower than generate); vllm: "
              "vLLM (CUDA GPUs only; pip install 'fai-rl[vllm]').")
    vllm_mode: Literal["colocate", "server"] = setting(
        "colocate", "vllm: colocate runs vLLM inside every training process, sharing its GPU; server runs `trl "
                    "vllm-serve` on the hardware.vllm_gpus GPUs the preset reserves, and the other GPUs train.")
    gpu_memory_utilization: Optional[float] = setting(
        None, "vllm: share of each vLLM GPU's memory vLLM takes for weights and KV cache, in (0, 1); null: 0.3 "
              "colocate (training needs the rest), 0.9 server.")
    tensor_parallel_size: int = setting(1, "vllm: GPUs one vLLM model is split over; colocate: it must divide the "
                                           "training processes per node; server: it must equal hardware.vllm_gpus.")
    sleep_mode: bool = setting(False, "vllm colocate: vLLM releases its GPU memory (weights and KV cache) while "
                                      "the model trains, at the cost of waking it for each generation.")
    importance_sampling_correction: bool = setting(
        True, "vllm: correct the loss for the gap between vLLM's sampling probabilities and the trained model's "
              "(truncated importance sampling, TRL's sequence_mask mode); GRPO/GSPO only (TRL's RLOO has none).")
    batch_size: Optional[int] = setting(None, "Completions generated per generation round, across processes (> 0; "
                                              "divisible by the training batch of all processes and by "
                                              "num_generations); not with algorithm.steps_per_generation. null: "
                                              "the training batch x steps_per_generation.")
    server_port: int = setting(8000, "vllm server: port of the server on this node (1..65535; must be free).")
    server_timeout_s: float = setting(240.0, "vllm server: seconds to wait for the server's /health to answer "
                                             "before the run fails (> 0).")


def uses_server(generation: GenerationConfig) -> bool:
    """True when fai-rl must start a vLLM server beside the training processes."""
    return generation.backend == "vllm" and generation.vllm_mode == "server"


def memory_fraction(generation: GenerationConfig) -> float:
    if generation.gpu_memory_utilization is not None:
        return generation.gpu_memory_utilization
    return DEFAULT_MEMORY[generation.vllm_mode]


def check_generation(run) -> None:
    """algorithm.generation against the hardware section: one error naming the field and what is valid."""
    g, h = run.algorithm.generation, run.hardware
    where = "algorithm.generation"
    if g.batch_size is not None and g.batch_size <= 0:
        raise ConfigError(f"'{where}.batch_size' must be > 0, got {g.batch_size}")
    if g.batch_size is not None and run.algorithm.steps_per_generation is not None:
        raise ConfigError(f"'{where}.batch_size' and 'algorithm.steps_per_generation' both set how much one "
                          "generation round makes; set one of them to null")
    if g.backend == "hf":
        return
    if h.device != "cuda":
        raise ConfigError(f"'{where}.backend={g.backend}' needs CUDA GPUs but hardware '{h.name}' is "
                          f"device={h.device}; use a GPU preset (hardware=gpu, gpu8_*) or {where}.backend=hf")
    if g.backend == "hf_continuous":
        return
    fraction = g.gpu_memory_utilization
    if fraction is not None and not 0 < fraction < 1:
        raise ConfigError(f"'{where}.gpu_memory_utilization' must be in (0, 1) (a share of each GPU's memory), "
                          f"got {fraction}")
    if g.tensor_parallel_size <= 0:
        raise ConfigError(f"'{where}.tensor_parallel_size' must be > 0, got {g.tensor_parallel_size}")
    if g.vllm_mode == "colocate":
        if g.sleep_mode and expandable(os.environ.get(ALLOC_CONF)):
            raise ConfigError(f"'{where}.sleep_mode' runs vLLM on its own memory pool, which refuses the "
                              f"{ALLOC_CONF}={os.environ[ALLOC_CONF]} set in the environment: unset the variable "
                              f"(fai-rl keeps PyTorch's default allocator beside a colocated vLLM) or set "
                              f"{where}.sleep_mode=false")
        processes = h.num_processes - h.vllm_gpus
        if processes % g.tensor_parallel_size:
            raise ConfigError(f"'{where}.tensor_parallel_size' ({g.tensor_parallel_size}) must divide the training "
                              f"processes per node ({processes}, hardware '{h.name}'): colocated vLLM splits each "
                              "model over that many training processes of one node")
        return
    if g.sleep_mode:
        raise ConfigError(f"'{where}.sleep_mode' frees the GPU memory vLLM shares with training, which only "
                          f"{where}.vllm_mode=colocate does; set it to false")
    if h.vllm_gpus < 1:
        raise ConfigError(f"'{where}.vllm_mode=server' runs vLLM on GPUs the hardware reserves: set "
                          f"hardware.vllm_gpus (1..{h.num_processes - 1} of hardware '{h.name}''s "
                          f"{h.num_processes}), or use {where}.vllm_mode=colocate")
    if g.tensor_parallel_size != h.vllm_gpus:
        raise ConfigError(f"'{where}.tensor_parallel_size' ({g.tensor_parallel_size}) must equal hardware.vllm_gpus "
                          f"({h.vllm_gpus}) in server mode: the server splits one model over the GPUs reserved "
                          "for it")
    model = run.model.base_model_name
    if model.startswith(BUILTIN_PREFIX) or is_remote(model):
        raise ConfigError(f"'model.base_model_name' '{model}': the vLLM server loads the model itself, from a hub "
                          f"name or a local folder; save the model to a folder first, or use {where}.vllm_mode="
                          "colocate")
    if not 0 < g.server_port < 65536:
        raise ConfigError(f"'{where}.server_port' must be a TCP port 1..65535, got {g.server_port}")
    if g.server_timeout_s <= 0:
        raise ConfigError(f"'{where}.server_timeout_s' must be > 0, got {g.server_timeout_s}")


def generation_args(run, importance_sampling: bool = True) -> dict:
    """TRL's generation fields from algorithm.generation (its vLLM fields only when vLLM samples);
    `importance_sampling`: the trainer's config has vllm_importance_sampling_correction (GRPOConfig, not RLOOConfig)."""
    g = run.algorithm.generation
    args = dict(generation_batch_size=g.batch_size)
    if g.backend in ("hf", "hf_continuous"):
        return dict(args, use_transformers_continuous_batching=g.backend == "hf_continuous")
    args.update(use_vllm=True, vllm_mode=g.vllm_mode, vllm_max_model_length=run.data.max_length)
    if importance_sampling:
        args.update(vllm_importance_sampling_correction=g.importance_sampling_correction)
    if g.vllm_mode == "colocate":
        return dict(args, vllm_gpu_memory_utilization=memory_fraction(g),
                    vllm_tensor_parallel_size=g.tensor_parallel_size, vllm_enable_sleep_mode=g.sleep_mode)
    return dict(args, vllm_server_host=SERVER_HOST, vllm_server_port=g.server_port,
                vllm_server_timeout=g.server_timeout_s)


def colocated_share(generation: GenerationConfig) -> float:
    """A vLLM in the training processes keeps its memory share while the model trains (not in sleep mode, where it
    releases it; a vLLM server runs on GPUs that do not train)."""
    if generation.backend != "vllm" or generation.vllm_mode != "colocate" or generation.sleep_mode:
        return 0.0
    return memory_fraction(generation)


def trl_executable() -> list:
    """`trl vllm-serve` of this Python environment (the TRL the workers run)."""
    script = Path(sys.executable).parent / "trl"
    return [str(script), "vllm-serve"] if script.exists() else [sys.executable, "-m", "trl.scripts.vllm_serve"]


def server_for(run, env: Mapping[str, str] = os.environ) -> Optional[GenerationServer]:
    """The vLLM server of server mode: `trl vllm-serve` for the run's model on the GPUs hardware.vllm_gpus reserves,
    with the memory share, tensor-parallel size and context it needs; None in the other modes."""
    g, m = run.algorithm.generation, run.model
    if not uses_server(g):
        return None
    argv = trl_executable() + [
        "--model", m.base_model_name, "--tensor_parallel_size", str(g.tensor_parallel_size),
        "--gpu_memory_utilization", str(memory_fraction(g)), "--dtype", m.torch_dtype,
        "--max_model_len", str(run.data.max_length), "--host", SERVER_HOST, "--port", str(g.server_port)]
    argv += ["--trust_remote_code", "true"] if m.trust_remote_code else []
    return GenerationServer(
        name="the vLLM server", argv=argv,
        env={"CUDA_VISIBLE_DEVICES": ",".join(gpu_split(run, env)[1]), "PYTHONUNBUFFERED": "1"},
        url=f"http://{SERVER_HOST}:{g.server_port}", port=g.server_port,
        port_field="algorithm.generation.server_port", timeout_s=g.server_timeout_s,
        timeout_field="algorithm.generation.server_timeout_s", module="vllm",
        install_hint="'algorithm.generation.backend=vllm' needs vLLM, which is not installed in this environment: "
                     "pip install 'fai-rl[vllm]' (the vLLM version TRL 1.16 supports)")
