"""Images and videos named by data rows (sft_vlm), fetched and checked before training: an http(s) URL (timeout,
retries, a shared on-disk cache), an s3:// URI (through fai_rl.storage), a local path, or bytes (a parquet cell).

Downloads land in data.image_cache_dir (videos: data.video_cache_dir) under a name derived from the URL, written to
a temporary file and moved into place, so ranks filling the same cache at once never read half a file. Each image is
decoded once here (a file that is no image fails now, not mid-training) and scaled down to data.max_image_pixels
when larger; a video becomes data.video_num_frames such images (fai_rl/data/video.py).
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from fai_rl.config.schema import DataConfig
from fai_rl.errors import ConfigError, MediaUnavailable
from fai_rl.storage.remote import is_remote, open_url

HTTP = ("http://", "https://")
NOT_RETRIED = (400, 401, 403, 404, 410)  # the server's answer will not change


def _cache_path(url: str, data: DataConfig, kind: str) -> Path:
    suffix = Path(url.split("?")[0]).suffix[:8]
    return Path(getattr(data, f"{kind}_cache_dir")) / (hashlib.sha256(url.encode()).hexdigest()[:32] + suffix)


def _write_whole(target: Path, payload: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _download(url: str, data: DataConfig, spec, kind: str) -> bytes:
    """`kind` (image or video) picks data.<kind>_fetch_timeout and data.<kind>_fetch_retries."""
    last, timeout = None, getattr(data, f"{kind}_fetch_timeout")
    for attempt in range(getattr(data, f"{kind}_fetch_retries") + 1):
        if attempt:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 5.0))
        try:
            if url.startswith(HTTP):
                with urllib.request.urlopen(url, timeout=timeout) as answer:
                    return answer.read()
            fs, path = open_url(url, spec.s3_endpoint_url, spec.s3_region, f"data.datasets[].{kind}_columns")
            with fs.open(path, "rb") as f:
                return f.read()
        except urllib.error.HTTPError as err:
            last = f"HTTP {err.code}"
            if err.code in NOT_RETRIED:
                break
        except ConfigError:
            raise
        except (FileNotFoundError, PermissionError) as err:  # the store's answer will not change either
            last = f"{type(err).__name__}: {err}".splitlines()[0]
            break
        except Exception as err:  # noqa: BLE001 - timeouts, refused connections, every storage client's own kinds
            last = f"{type(err).__name__}: {err}".splitlines()[0]
    tries = f"{attempt + 1} tries" if attempt else "1 try"
    raise OSError(f"{last} (after {tries}, data.{kind}_fetch_timeout={timeout}s)")


def fetched(url: str, data: DataConfig, spec, kind: str = "image") -> bytes:
    """The bytes at `url`, from the cache when an earlier run or another rank fetched them."""
    target = _cache_path(url, data, kind)
    if target.exists():
        return target.read_bytes()
    payload = _download(url, data, spec, kind)
    _write_whole(target, payload)
    return payload


def raw(cell, data: DataConfig, spec, kind: str = "image") -> tuple:
    """(bytes, where they came from) of one image or video cell."""
    if isinstance(cell, Image.Image):  # a hub dataset's Image column, decoded by datasets
        out = io.BytesIO()
        cell.save(out, format="PNG")
        return out.getvalue(), "image"
    if isinstance(cell, dict):  # datasets' Image feature stored in parquet: {"bytes", "path"}
        cell = cell.get("bytes") or cell.get("path")
    if isinstance(cell, (bytes, bytearray)):
        return bytes(cell), f"{kind} bytes"
    if not isinstance(cell, str) or not cell.strip():
        raise OSError(f"the cell holds {type(cell).__name__} {str(cell)[:40]!r}, not a URL, path or {kind} bytes")
    cell = cell.strip()
    if cell.startswith(HTTP) or is_remote(cell):
        return fetched(cell, data, spec, kind), cell
    path = Path(cell).expanduser()
    if not path.is_absolute() and not path.exists() and Path(spec.name).parent.joinpath(path).exists():
        path = Path(spec.name).parent / path  # relative to the data file
    if not path.exists():
        raise OSError(f"no such file {cell}")
    return path.read_bytes(), cell


def load_image(cell, data: DataConfig, spec, where: str) -> dict:
    """One image cell -> {"bytes": encoded image, "path": None} (datasets' Image form), checked and scaled down;
    MediaUnavailable naming `where` (file, row, column) and the URL when it cannot be had."""
    source = str(cell)[:200] if isinstance(cell, str) else "image bytes"
    try:
        payload, source = raw(cell, data, spec)
        image = Image.open(io.BytesIO(payload))
        image.load()
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise unavailable(where, "image", source, err)
    if data.max_image_pixels and image.width * image.height > data.max_image_pixels:
        return stored(image, data)
    return {"bytes": payload, "path": None}


def unavailable(where: str, kind: str, source: str, err: Exception) -> MediaUnavailable:
    return MediaUnavailable(f"{where}: {kind} {source} cannot be used: {err}; fix the row, or set "
                            "data.media_errors=skip to leave such rows out")


def stored(image: Image.Image, data: DataConfig) -> dict:
    """A decoded image scaled down to data.max_image_pixels when larger, PNG-encoded in datasets' Image form."""
    if data.max_image_pixels and image.width * image.height > data.max_image_pixels:
        scale = (data.max_image_pixels / (image.width * image.height)) ** 0.5
        image = image.convert("RGB").resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return {"bytes": out.getvalue(), "path": None}
