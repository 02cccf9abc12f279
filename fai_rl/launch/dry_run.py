"""hardware.dry_run: the exact launch command of every node and the generated DeepSpeed config, nothing trained."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from fai_rl.config import deepspeed
from fai_rl.config.derived import launched, precision
from fai_rl.config.schema import RunConfig

from . import commands

SLURM_NOTE = (
    "# under SLURM (fai-rl -m hydra/launcher=slurm ...) each node's task runs the command above with\n"
    "# --machine_rank $SLURM_NODEID and --main_process_ip = first host of $SLURM_JOB_NODELIST"
)


def describe(run: RunConfig) -> str:
    """The lines a dry run prints; writes the DeepSpeed config into the run dir so the commands can be run as is."""
    h = run.hardware
    lines = [f"fai-rl: dry run (nothing trained): {h.num_nodes} node(s) x {h.num_processes} process(es) on "
             f"{h.device}, ZeRO stage {h.zero_stage}, offload {h.offload}, precision {precision(run)}"]
    if not launched(run):
        worker = [sys.executable, "-m", commands.WORKER_MODULE, str(Path(run.run_dir).resolve())]
        lines += ["# one process: fai-rl trains in-process, the same as", commands.shell_line(worker)]
        return "\n".join(lines)
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
        lines += [f"# DeepSpeed config ({path}):", json.dumps(deepspeed.build(run), indent=2)]
    return "\n".join(lines)
