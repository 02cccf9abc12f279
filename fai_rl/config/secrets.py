"""Keep secrets out of saved configs, logs, summaries and model cards."""
from __future__ import annotations

import os
import re

# a key named like a secret ("hub_token", "api_key"), not one that merely counts tokens ("max_new_tokens")
SECRET_KEY = re.compile(r"(api[_-]?key|(^|[_-])token$|secret|password|passwd|credential)", re.IGNORECASE)
SECRET_ENV = ("WANDB_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN")
REDACTED = "<redacted>"


def redact(value):
    """A copy of a nested dict/list with secret-looking keys and known secret env values replaced."""
    secrets = [os.environ[name] for name in SECRET_ENV if os.environ.get(name)]
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEY.search(str(k)) and v else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
    return value


def secret_values(value) -> list:
    """The values held under secret-looking keys of a nested dict/list (e.g. wandb.api_key)."""
    if isinstance(value, dict):
        found = [str(v) for k, v in value.items() if SECRET_KEY.search(str(k)) and isinstance(v, (str, int)) and v]
        return found + [s for v in value.values() for s in secret_values(v)]
    if isinstance(value, list):
        return [s for v in value for s in secret_values(v)]
    return []


def scrub_files(paths, secrets: list) -> None:
    """Replace every secret in these text files (Hydra's own record of the command line and config)."""
    for path in paths:
        text = path.read_text()
        scrubbed = text
        for secret in secrets:
            scrubbed = scrubbed.replace(secret, REDACTED)
        if scrubbed != text:
            path.write_text(scrubbed)
