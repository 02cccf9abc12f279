"""Can the Hugging Face hub answer? Decided once per process in at most a few seconds, so a machine without hub
access gets one line naming the model or dataset and what to do, instead of a minute of retries."""
from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlparse

DEFAULT_ENDPOINT = "https://huggingface.co"
CONNECT_TIMEOUT_S = 3.0
WHAT_TO_DO = ("give a local path, or download it into the Hugging Face cache where the hub is reachable "
              "(e.g. huggingface-cli download NAME) and set HF_HUB_OFFLINE=1")


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    """HF_HUB_OFFLINE (or HF_DATASETS_OFFLINE) asks for the local cache only."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


@functools.lru_cache(maxsize=None)
def unreachable_reason(url: str):
    """Why the hub at `url` cannot be reached (a TCP connection, CONNECT_TIMEOUT_S at most), or None when it can."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((parsed.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        return f"{type(err).__name__}: {err.strerror or err}"
    return None


def local_only() -> bool:
    """Load from the local cache only: offline mode is set, or the hub cannot be reached."""
    return offline() or unreachable_reason(endpoint()) is not None


def not_available(what: str, field: str, name: str) -> str:
    """The one-line reason a hub `name` (a model or dataset, named by config `field`) could not be loaded here."""
    if offline():
        why = "HF_HUB_OFFLINE=1 allows only the local cache"
    else:
        why = f"the hub cannot be reached ({endpoint()}: {unreachable_reason(endpoint())})"
    return f"{field} '{name}': {what} is not in the local Hugging Face cache and {why}; {WHAT_TO_DO}"
