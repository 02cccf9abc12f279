"""The generation server an algorithm asks for (GRPO's vLLM server, fai_rl.algorithms.GenerationServer): started on
the GPUs hardware.vllm_gpus reserves before the training processes, ready once its /health answers, stopped with
the job (also on failure or a signal).

Light by rule (no torch): the server is a separate process; its output goes to <run_dir>/vllm_server.log.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Mapping

from fai_rl.algorithms import GenerationServer
from fai_rl.config.run_files import run_files
from fai_rl.errors import ConfigError, RunFailed
from fai_rl.launch.commands import shell_line
from fai_rl.launch.workers import die_with_parent, stop

POLL_S = 1.0


def require_installed(server: GenerationServer) -> None:
    """The server's package must be installed (found without importing it: the server and the workers import it)."""
    if importlib.util.find_spec(server.module) is None:
        raise ConfigError(server.install_hint)


def check_port_free(server: GenerationServer) -> None:
    host = server.url.split("://", 1)[-1].rsplit(":", 1)[0]
    with socket.socket() as sock:
        try:
            sock.bind((host, server.port))
        except OSError as err:
            raise ConfigError(f"'{server.port_field}' {server.port} is in use on this node ({err.strerror}); "
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


def wait_healthy(proc: subprocess.Popen, server: GenerationServer, log: Path) -> None:
    """Return once GET <url>/health answers 200; RunFailed if the server exits first or the timeout passes."""
    deadline = time.monotonic() + server.timeout_s
    while not healthy(server.url):
        if proc.poll() is not None:
            raise RunFailed(f"{server.name} exited with code {proc.returncode} before {server.url}/health answered; "
                            f"last line of {log}: {last_line(log)}")
        if time.monotonic() > deadline:
            raise RunFailed(f"{server.name} did not answer {server.url}/health within {server.timeout_s:g} s "
                            f"({server.timeout_field}); its output: {log}")
        time.sleep(POLL_S)


@contextlib.contextmanager
def serving(server: GenerationServer, env: Mapping[str, str], log: Path):
    """Run `server` while the block runs: healthy before it starts, stopped (its whole tree) after."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        proc = subprocess.Popen(server.argv, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=die_with_parent)
    try:
        wait_healthy(proc, server, log)
        yield proc
    finally:
        stop(proc, {}, grace_s=10)  # stop() finds the server's own processes below it


def serve(server: GenerationServer, run):
    """Start `server` for `run` (see `serving`), after checking its package is installed and its port is free."""
    require_installed(server)
    check_port_free(server)
    log = run_files(run).vllm_log
    print(f"fai-rl: starting {server.name} (output in {log}): {shell_line(server.argv, server.env)}", flush=True)
    return serving(server, {**os.environ, **server.env}, log)
