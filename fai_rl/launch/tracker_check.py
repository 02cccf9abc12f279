"""Before anything loads, each tracker the run reports to is checked within seconds: wandb online (its server
answers), an MLflow tracking server (it answers /health) or store (its folder can be written), the TensorBoard
folder. One that cannot be reached or written ends the run with one line naming the setting and the way on."""
from __future__ import annotations

import base64
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from fai_rl.config.run_files import run_files
from fai_rl.config.schema import RunConfig
from fai_rl.config.secrets import mask_urls, split_credentials
from fai_rl.errors import ConfigError

TIMEOUT_S = 5.0  # per tracker: an answer takes milliseconds, a server that is down or stalled never gives one
WANDB_DEFAULT_URL = "https://api.wandb.ai"
WANDB_OFFLINE_MODES = ("offline", "dryrun", "disabled")


def check_trackers(run: RunConfig) -> None:
    """Raise ConfigError for the first enabled tracker that cannot be reached or written."""
    if run.wandb.enabled and os.environ.get("WANDB_MODE", "online") not in WANDB_OFFLINE_MODES:
        url = run.wandb.base_url or os.environ.get("WANDB_BASE_URL") or WANDB_DEFAULT_URL
        problem = http_problem(url)
        if problem:
            raise ConfigError(f"wandb.enabled=true but the wandb server {mask_urls(url)} {problem}; train with "
                              "WANDB_MODE=offline and upload later with `wandb sync <run_dir>/wandb`, or set "
                              "wandb.enabled=false")
    uri = run.tracking.mlflow_tracking_uri
    if uri:
        problem = mlflow_problem(uri)
        if problem:
            raise ConfigError(f"tracking.mlflow_tracking_uri '{mask_urls(uri)}' {problem}; start the server or fix "
                              "the URI, or set tracking.mlflow_tracking_uri=null to train without MLflow "
                              "(metrics.jsonl still holds every metric)")
    if run.tracking.tensorboard:
        problem = folder_problem(run_files(run).tensorboard)
        if problem:
            raise ConfigError(f"tracking.tensorboard=true but {problem}; free that path or set "
                              "tracking.tensorboard=false")


def http_problem(url: str, path: str = "") -> str | None:
    """None when the server at `url` answers `path` (any status below 500) within TIMEOUT_S, else what went wrong.
    Credentials in the URL are sent as basic auth, as the tracker's client sends them."""
    bare, user, password = split_credentials(url)
    request = urllib.request.Request(bare.rstrip("/") + path, method="GET")
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S):
            return None
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            return f"refused the credentials (HTTP {err.code})"
        return None if err.code < 500 else f"answered HTTP {err.code} {err.reason}"
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            return f"did not answer within {TIMEOUT_S:g} s"
        return f"cannot be reached ({getattr(reason, 'strerror', None) or reason})"


def mlflow_problem(uri: str) -> str | None:
    """A server: does it answer /health; a store on disk (a path, file:, sqlite:): can its folder be written.
    Other stores (databricks, a database server) are left to MLflow."""
    scheme = urlsplit(uri).scheme
    if scheme in ("http", "https"):
        return http_problem(uri, "/health")
    if scheme in ("", "file"):
        return folder_problem(Path(urlsplit(uri).path if scheme else uri))
    if scheme == "sqlite":
        database = uri.split(":///", 1)[1] if ":///" in uri else ""
        return folder_problem(Path(database).parent) if database and database != ":memory:" else None
    return None


def folder_problem(folder: Path) -> str | None:
    """None when files can be written into `folder` (made if missing), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".fai-rl-write-test"
        probe.write_text("")
        probe.unlink()
        return None
    except OSError as err:
        return f"'{folder}' cannot be written ({err.strerror or err})"
