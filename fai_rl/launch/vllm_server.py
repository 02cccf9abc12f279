"""The vLLM server of algorithm.generation.vllm_mode=server: `trl vllm-serve` on the GPUs hardware.vllm_gpus
reserves, started before the training processes, ready once its /health answers, stopped with the job.

Light by rule (no torch): the server is a separate process; its output goes to <run_dir>/vllm_server.log.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from fai_rl.config.errors import ConfigError, RunFailed
from fai_rl.config.generation import SERVER_HOST, gpu_split, memory_fraction
from fai_rl.config.schema import RunConfig

from .commands import shell_line
from .workers import die_with_parent, stop

POLL_S = 1.0
LOG_NAME = "vllm_server.log"


def trl_executable() -> list:
    """The `trl` command of this Python environment (the TRL the workers run)."""
    script = Path(sys.executable).parent / "trl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "trl.scripts.vllm_serve"]


def server_url(run: RunConfig) -> str:
    return f"http://{SERVER_HOST}:{run.algorithm.generation.server_port}"


def server_argv(run: RunConfig) -> list:
    """`trl vllm-serve` for the run's model, with the memory share, tensor-parallel size and context it needs."""
    g, m = run.algorithm.generation, run.model
    argv = trl_executable()
    if argv[-1] != "trl.scripts.vllm_serve":
        argv.append("vllm-serve")
    argv += ["--model", m.base_model_name, "--tensor_parallel_size", str(g.tensor_parallel_size),
             "--gpu_memory_utilization", str(memory_fraction(g)), "--dtype", m.torch_dtype,
             "--max_model_len", str(run.data.max_length), "--host", SERVER_HOST, "--port", str(g.server_port)]
    return argv + (["--trust_remote_code", "true"] if m.trust_remote_code else [])


def server_env(run: RunConfig, base: Mapping[str, str] = os.environ) -> dict:
    """Variables the server needs beyond the inherited ones: its GPUs, live output."""
    return {"CUDA_VISIBLE_DEVICES": ",".join(gpu_split(run, base)[1]), "PYTHONUNBUFFERED": "1"}


def check_port_free(port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((SERVER_HOST, port))
        except OSError as err:
            raise ConfigError(f"'algorithm.generation.server_port' {port} is in use on this node ({err.strerror}); "
                              "choose a free port") from None


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=POLL_S) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()] \
        if path.exists() else []
    return lines[-1] if lines else "(no output)"


def wait_healthy(proc: subprocess.Popen, url: str, timeout_s: float, log: Path) -> None:
    """Return once GET <url>/health answers 200; RunFailed if the server exits first or the timeout passes."""
    deadline = time.monotonic() + timeout_s
    while not healthy(url):
        if proc.poll() is not None:
            raise RunFailed(f"the vLLM server exited with code {proc.returncode} before {url}/health answered; "
                            f"last line of {log}: {last_line(log)}")
        if time.monotonic() > deadline:
            raise RunFailed(f"the vLLM server did not answer {url}/health within {timeout_s:g} s "
                            f"(algorithm.generation.server_timeout_s); its output: {log}")
        time.sleep(POLL_S)


@contextlib.contextmanager
def serving(argv: list, env: Mapping[str, str], url: str, timeout_s: float, log: Path):
    """Run the server `argv` while the block runs: healthy before it starts, stopped (its whole tree) after."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        proc = subprocess.Popen(argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=die_with_parent)
    try:
        wait_healthy(proc, url, timeout_s, log)
        yield proc
    finally:
        stop(proc, {}, grace_s=10)  # stop() finds the server's own processes below it


def serve_for(run: RunConfig):
    """The vLLM server of `run`, started on its reserved GPUs (see `serving`)."""
    g = run.algorithm.generation
    check_port_free(g.server_port)
    argv, extra = server_argv(run), server_env(run)
    log = Path(run.run_dir) / LOG_NAME
    print(f"fai-rl: starting the vLLM server (output in {log}): {shell_line(argv, extra)}", flush=True)
    return serving(argv, {**os.environ, **extra}, server_url(run), g.server_timeout_s, log)
