"""One place that turns a URL (plus an S3-compatible endpoint and region) into an fsspec filesystem and path."""
from __future__ import annotations

from fai_rl.errors import ConfigError


def is_remote(name: str) -> bool:
    """An object-storage URL (s3://bucket/key, gs://..., ...), as opposed to a local path or a hub name."""
    scheme, sep, _ = name.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme != "file"


def open_url(url: str, endpoint_url: str | None = None, region: str | None = None, where: str = "url") -> tuple:
    """(filesystem, path without a trailing slash) for `url`; credentials come from the environment or the
    provider's own config files only."""
    options = {}
    if url.startswith(("s3://", "s3a://")):
        client = {k: v for k, v in (("endpoint_url", endpoint_url), ("region_name", region)) if v}
        if client:
            options["client_kwargs"] = client
    import fsspec  # ~55 ms: loaded when a URL is opened, not by every `fai-rl --help` (launch imports this module)

    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except (ImportError, ValueError) as err:
        raise ConfigError(f"'{where}' '{url}' cannot be opened: {err}")
    return fs, path.rstrip("/")


def join(first: str, *parts: str) -> str:
    """first/part/part: a path (or URL) with the parts appended; the first keeps its leading slash."""
    return "/".join([first.rstrip("/"), *(p.strip("/") for p in parts if p)])


def check_reachable(url: str, endpoint_url: str | None, region: str | None, where: str) -> None:
    """Fail before training when the store or its bucket cannot be reached (wrong endpoint, missing bucket)."""
    fs, path = open_url(url, endpoint_url, region, where)
    top = path.split("/")[0] if is_remote(url) else path
    try:
        if not is_remote(url):
            fs.makedirs(path, exist_ok=True)
        else:
            fs.ls(top)  # unlike exists(), tells a store that does not answer from a missing bucket
    except FileNotFoundError as err:
        raise ConfigError(f"'{where}' '{url}': bucket '{top}' does not exist ({err}); create it or fix the URL")
    except Exception as err:  # noqa: BLE001 - every client raises its own kinds
        hint = f" (endpoint {endpoint_url})" if endpoint_url else ""
        raise ConfigError(f"'{where}' '{url}' cannot be reached{hint}: {type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else ''}; check the bucket, the endpoint and the "
                          "credentials in the environment")
