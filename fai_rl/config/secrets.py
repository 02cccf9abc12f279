"""Keep secrets out of saved configs, logs, summaries and model cards: values under secret-looking keys, known
secret environment variables, and the password of any URL that carries one (`scheme://user:password@host`)."""
from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit, urlunsplit

# a key named like a secret ("hub_token", "api_key"), not one that merely counts tokens ("max_new_tokens")
SECRET_KEY = re.compile(r"(api[_-]?key|(^|[_-])token$|secret|password|passwd|credential)", re.IGNORECASE)
SECRET_ENV = ("WANDB_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN")
REDACTED = "<redacted>"
# the password of a URL's user:password@ part (RFC 3986 percent-encodes '@', '/' and spaces inside it)
URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>[^/?#@\s]+)@")
MIN_LITERAL = 4  # shorter secrets are masked only inside URLs: replacing them everywhere would mangle the text


def mask_urls(text: str) -> str:
    """`text` with every URL password replaced: http://alice:<redacted>@host:5000."""
    return URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}@", text)


def url_passwords(text: str) -> list:
    return [m["password"] for m in URL_PASSWORD.finditer(text) if m["password"] != REDACTED]


def split_credentials(url: str) -> tuple:
    """(the URL without its user:password@ part, user, password); user and password None when it has none."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None, None
    host = parts.netloc.rsplit("@", 1)[1]
    password = unquote(parts.password) if parts.password is not None else None
    return urlunsplit(parts._replace(netloc=host)), unquote(parts.username), password


def redact(value):
    """A copy of a nested dict/list with secret-looking keys, known secret env values and URL passwords replaced."""
    secrets = [os.environ[name] for name in SECRET_ENV if os.environ.get(name)]
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEY.search(str(k)) and v else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        value = mask_urls(value)
    return value


def secret_values(value) -> list:
    """The values held under secret-looking keys of a nested dict/list (e.g. wandb.api_key), and the password of
    every URL in its strings (e.g. tracking.mlflow_tracking_uri=http://alice:PASSWORD@host:5000)."""
    if isinstance(value, dict):
        found = [str(v) for k, v in value.items() if SECRET_KEY.search(str(k)) and isinstance(v, (str, int)) and v]
        return found + [s for v in value.values() for s in secret_values(v)]
    if isinstance(value, list):
        return [s for v in value for s in secret_values(v)]
    if isinstance(value, str):
        return url_passwords(value)
    return []


def scrub_text(text: str, secrets: list) -> str:
    """`text` with URL passwords masked and every secret of `secrets` (MIN_LITERAL characters or more) replaced."""
    text = mask_urls(text)
    for secret in secrets:
        if len(secret) >= MIN_LITERAL:
            text = text.replace(secret, REDACTED)
    return text


def scrub_files(paths, secrets: list) -> None:
    """Replace every secret in these text files (Hydra's own record of the command line and config)."""
    for path in paths:
        text = path.read_text()
        scrubbed = scrub_text(text, secrets)
        if scrubbed != text:
            path.write_text(scrubbed)
