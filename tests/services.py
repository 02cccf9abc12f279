"""Real servers for the tests, started on a free loopback port and stopped afterwards: an S3-compatible store
(moto's standalone server) and an MLflow tracking server (from .venv-services, which `make test` installs: full
MLflow needs SQLAlchemy 2, which the training environment's optuna 2.10 refuses)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MLFLOW = Path(os.environ.get("FAI_RL_TEST_MLFLOW", REPO / ".venv-services" / "bin" / "mlflow"))
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server at {url} did not answer in {timeout_s} s: {log.read_text()[-2000:]}")


@contextmanager
def server(argv: list, health_url: str, log: Path, env: dict | None = None):
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                start_new_session=True)
    try:
        wait_until_up(health_url, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


@contextmanager
def s3_server(folder: Path):
    """moto's S3-compatible server; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with server([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], endpoint,
                folder / "moto.log", S3_ENV):
        yield endpoint


@contextmanager
def mlflow_server(folder: Path):
    """An MLflow tracking server with a SQLite store; yields its URI."""
    if not MLFLOW.exists():
        raise RuntimeError(f"{MLFLOW} is missing: run `make test` (it installs .venv-services) or set "
                           "FAI_RL_TEST_MLFLOW to an mlflow executable")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    argv = [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination",
            str(folder / "artifacts")]
    with server(argv, f"{uri}/health", folder / "mlflow.log"):
        yield uri
