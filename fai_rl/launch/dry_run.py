"""hardware.dry_run: the exact launch command of every node and the generated DeepSpeed config, nothing trained."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from fai_rl import algorithms
from fai_rl.config.derived import gpu_split, launched, precision
from fai_rl.config.schema import RunConfig
from fai_rl.launch import commands, deepspeed
from fai_rl.models.kernel_plan import kernel_plan
from fai_rl.models.shape import is_tiny_model

SLURM_NOTE = (
    "# under SLURM (fai-rl -m hydra/launcher=slurm ...) each node's task runs the command above with\n"
    "# --machine_rank $SLURM_NODEID and --main_process_ip = first host of $SLURM_JOB_NODELIST"
)


def defaults_line(demo: bool) -> str:
    """Which defaults a run composed with, and where they come from (printed by --cfg, --info and the dry run)."""
    if demo:
        return ("defaults: the tiny model's demo settings (conf/demo/tiny.yaml; conf/tuned/tiny/<data>.yaml and "
                "<data>_<algorithm>.yaml where they exist) over the schema's real-model defaults (docs/config.md)")
    return "defaults: the schema's real-model defaults (docs/config.md); the tiny model's demo settings are off"


def model_line(run: RunConfig) -> str:
    """The model as it will load: LoRA and quantisation settings included."""
    m, lora = run.model, run.model.lora
    parts = [f"# model {m.base_model_name}, {m.torch_dtype}"]
    if lora.enabled:
        parts.append(f"LoRA r={lora.r} alpha={lora.alpha} dropout={lora.dropout} bias={lora.bias} "
                     f"targets={','.join(lora.target_modules)}")
    if m.load_in_4bit:
        compute = m.bnb_4bit_compute_dtype or (m.torch_dtype if m.torch_dtype != "auto" else "bfloat16")
        parts.append(f"4-bit {m.bnb_4bit_quant_type} (compute {compute}, double quant "
                     f"{'on' if m.bnb_4bit_use_double_quant else 'off'})")
    if m.load_in_8bit:
        parts.append("8-bit")
    return ", ".join(parts)


def describe(run: RunConfig) -> str:
    """The lines a dry run prints; writes the DeepSpeed config into the run dir so the commands can be run as is."""
    h = run.hardware
    serving = f" ({h.num_processes - h.vllm_gpus} train, {h.vllm_gpus} serve vLLM)" if h.vllm_gpus else ""
    lines = [f"fai-rl: dry run (nothing trained): {h.num_nodes} node(s) x {h.num_processes} process(es){serving} on "
             f"{h.device}, ZeRO stage {h.zero_stage}, offload {h.offload}, precision {precision(run)}"]
    lines.append(f"# {defaults_line(is_tiny_model(run.model.base_model_name))}")
    lines.append(model_line(run))
    lines.append(f"# {kernel_plan(run).line()}")
    if not launched(run):
        worker = [sys.executable, "-m", commands.WORKER_MODULE, str(Path(run.run_dir).resolve())]
        lines += ["# one process: fai-rl trains in-process, the same as", commands.shell_line(worker)]
        return "\n".join(lines)
    server = algorithms.load(run.algorithm.trainer).generation_server(run)
    if server:
        train, serve = gpu_split(run)
        lines += [f"# {server.name}, on GPU(s) {','.join(serve)}, started first; training on GPU(s) "
                  f"{','.join(train)} starts once {server.url}/health answers",
                  commands.shell_line(server.argv, server.env)]
    rdzv = commands.rendezvous(run)
    extra = commands.worker_env(run)
    for rank in range(h.num_nodes):
        if h.num_nodes > 1:
            lines.append(f"# node {rank} of {h.num_nodes}" + (" (this node)" if rank == rdzv.machine_rank else ""))
        lines.append(commands.shell_line(commands.launch_argv(run, rdzv, machine_rank=rank), extra))
    if h.num_nodes > 1:
        if not rdzv.main_process_ip:
            lines.append(f"# replace {commands.IP_PLACEHOLDER}: set hardware.main_process_ip to node 0's host name")
        lines.append(SLURM_NOTE)
    if h.zero_stage > 0:
        path = deepspeed.write(run)
        source = f"yours, {h.deepspeed_config}, with the run's values for its \"auto\" batch and precision fields" \
            if h.deepspeed_config else "generated from the hardware and training sections"
        lines += [f"# DeepSpeed config ({path}; {source}):", json.dumps(deepspeed.build(run), indent=2)]
    return "\n".join(lines)
