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
