"""The `accelerate launch` command of each node, from the hardware group and the scheduler's environment."""
from __future__ import annotations

import os
import re
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from fai_rl.config.derived import gpu_split, precision
from fai_rl.config.schema import RunConfig
from fai_rl.errors import ConfigError
from fai_rl.launch import deepspeed
from fai_rl.launch.memory import allocator_env
from fai_rl.storage.cache import cache_dir

DEFAULT_PORT = 29500
WORKER_MODULE = "fai_rl.training.worker"
RANK_OUTPUT_DIR = "ranks"  # <run_dir>/ranks/: torchrun's copy of each rank's stdout and stderr (its --tee)
# each console line of a worker starts with its global rank, so the front process knows who said what
RANK_LINE_PREFIX = "[rank${rank}]: "
IP_PLACEHOLDER = "<main_process_ip>"


@dataclass
class Rendezvous:
    main_process_ip: Optional[str]
    main_process_port: int
    machine_rank: int


def first_slurm_host(nodelist: str) -> str:
    """First host of SLURM's compressed host list: 'gpu[03-05,09],cpu1' -> 'gpu03'."""
    match = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match:
        raise ConfigError(f"cannot read the SLURM host list '{nodelist}'; set hardware.main_process_ip")
    prefix, ranges = match.groups()
    return prefix + ranges.split(",")[0].split("-")[0] if ranges else prefix


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rendezvous(run: RunConfig, env: Mapping[str, str] = os.environ) -> Rendezvous:
    """The hardware fields, else what a scheduler put in the environment (torchrun-style or SLURM), else defaults."""
    h = run.hardware
    if h.num_nodes == 1:
        return Rendezvous("127.0.0.1", h.main_process_port or free_port(), 0)
    slurm_nodes = env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES")
    if slurm_nodes and int(slurm_nodes) != h.num_nodes:
        raise ConfigError(f"'hardware.num_nodes' is {h.num_nodes} but SLURM allocated {slurm_nodes} nodes "
                          "(SLURM_JOB_NUM_NODES); make them agree")
    nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    ip = h.main_process_ip or env.get("MASTER_ADDR") or (first_slurm_host(nodelist) if nodelist else None)
    port = h.main_process_port or int(env.get("MASTER_PORT") or DEFAULT_PORT)
    rank = h.machine_rank
    if rank is None:
        rank = int(env.get("NODE_RANK") or env.get("SLURM_NODEID") or 0)
    return Rendezvous(ip, port, rank)


def accelerate_executable() -> list:
    """The `accelerate` of this Python environment (so workers run the same packages as the front process)."""
    script = Path(sys.executable).parent / "accelerate"
    return [str(script)] if script.exists() else [sys.executable, "-m", "accelerate.commands.accelerate_cli"]


def launch_argv(run: RunConfig, rdzv: Rendezvous, machine_rank: Optional[int] = None) -> list:
    """`accelerate launch ... -m fai_rl.training.worker <run_dir>` for one node (default: this node)."""
    h = run.hardware
    argv = accelerate_executable() + ["launch"]
    if h.zero_stage > 0:
        argv += ["--use_deepspeed", "--deepspeed_config_file", deepspeed.config_path(run)]
        if h.num_nodes > 1:
            argv += ["--deepspeed_multinode_launcher", "standard"]  # torchrun on every node, no pdsh/ssh
    elif run.world_size > 1:  # (one process is launched only to train beside a vLLM server)
        argv += ["--multi_gpu"]  # also right for CPU processes: `--cpu` silently starts only one (DESIGN)
    argv += ["--num_processes", str(run.world_size), "--num_machines", str(h.num_nodes),
             "--mixed_precision", precision(run), "--dynamo_backend", "no"]
    if h.num_nodes > 1:
        rank = rdzv.machine_rank if machine_rank is None else machine_rank
        argv += ["--machine_rank", str(rank), "--main_process_ip", rdzv.main_process_ip or IP_PLACEHOLDER]
    argv += ["--main_process_port", str(rdzv.main_process_port)]
    run_dir = Path(run.run_dir).resolve()
    argv += ["--tee", "3", "--log_dir", str(run_dir / RANK_OUTPUT_DIR)]  # each rank's output, also after a kill -9
    return argv + ["-m", WORKER_MODULE, str(run_dir)]


def worker_env(run: RunConfig, base: Mapping[str, str] = os.environ) -> dict:
    """Variables the workers need beyond the inherited ones: the package on the path, a compile cache, live output
    with each line prefixed by its rank, the CUDA allocator's settings."""
    extra = {"PYTHONUNBUFFERED": "1", "TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE": RANK_LINE_PREFIX,
             **allocator_env(run, base)}
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    paths = [p for p in base.get("PYTHONPATH", "").split(os.pathsep) if p]
    if package_root not in paths:
        extra["PYTHONPATH"] = os.pathsep.join([package_root] + paths)
    if run.hardware.zero_stage > 0 and "TORCH_EXTENSIONS_DIR" not in base:
        extra["TORCH_EXTENSIONS_DIR"] = str(cache_dir() / "torch_extensions")  # DeepSpeed compiles once
    if run.hardware.vllm_gpus:
        extra["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_split(run, base)[0])  # the generation server has the others
    return extra


def shell_line(argv: list, env: Mapping[str, str] = None) -> str:
    prefix = [f"{k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    return " ".join(prefix + [shlex.quote(a) for a in argv])
