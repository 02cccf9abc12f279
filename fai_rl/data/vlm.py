"""Vision-language SFT data (sft_vlm): SFT rows (fai_rl/data/sft.py: its forms and FAI-RL's templates) with the
images their `image_columns` and the videos their `video_columns` name, as TRL's SFTTrainer reads them:
conversational `prompt`/`completion` (or `messages` for a single template, loss on every token) plus an `images`
list; the images go before the first user turn's text. A video enters as its sampled frames, images after the row's
images in column order (TRL 1.16's SFT collator passes images only, so a processor's own video path is not used).
Media are fetched and checked here, before the model loads (fai_rl/data/media.py, fai_rl/data/video.py)."""
from __future__ import annotations

import logging

import datasets

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.data.media import load_image
from fai_rl.data.preference import is_messages
from fai_rl.data.sft import combine, normalise
from fai_rl.data.video import load_video
from fai_rl.errors import ConfigError, MediaUnavailable

log = logging.getLogger("fai_rl")


def _media_columns(spec: DatasetSpec) -> list:
    return [*spec.image_columns, *spec.video_columns]


def row_images(row: dict, spec: DatasetSpec, data: DataConfig, where: str) -> list:
    """The row's images, then each of its videos' frames (datasets' Image form); MediaUnavailable naming `where`
    (also the inference of a vision-language model: fai_rl/inference/local_engine.py)."""
    images = []
    for column in _media_columns(spec):
        cells = row[column] if isinstance(row[column], list) else [row[column]]
        for cell in cells:
            if cell is None:
                continue
            if column in spec.image_columns:
                images.append(load_image(cell, data, spec, f"{where}, column '{column}'"))
            else:
                images += load_video(cell, data, spec, f"{where}, column '{column}'")
    return images


def _images(ds, spec: DatasetSpec, data: DataConfig, group: str) -> list:
    """Each row's images (its videos' frames included); None for a row left out (data.media_errors=skip)."""
    out = []
    for number, row in enumerate(ds.select_columns(_media_columns(spec))):
        where = f"dataset '{spec.name}' ({group}) row {number}"
        try:
            out.append(row_images(row, spec, data, where))
        except MediaUnavailable as err:
            if data.media_errors == "fail":
                raise
            log.warning("left out: %s", str(err).split("; fix the row")[0])
            out.append(None)
    return out


def conversational(row: dict) -> dict:
    """Plain prompt/completion or text -> chat messages (the processor's chat template places the images)."""
    if "text" in row:
        return {"messages": [{"role": "user", "content": row["text"]}]}
    prompt = row["prompt"] if is_messages(row["prompt"]) else [{"role": "user", "content": str(row["prompt"])}]
    completion = row["completion"] if is_messages(row["completion"]) else \
        [{"role": "assistant", "content": str(row["completion"])}]
    return {"prompt": prompt, "completion": completion}


def _one(spec: DatasetSpec, data: DataConfig, group: str):
    raw = load_spec(spec)
    for field in ("image_columns", "video_columns"):
        for column in getattr(spec, field):
            require_columns(raw, spec, {field: column}, group)
    images = _images(raw, spec, data, group)
    text = normalise(raw.remove_columns(_media_columns(spec)), spec, data, group)
    rows = [dict(conversational(row), images=found) for row, found in zip(text, images) if found is not None]
    if not rows:
        raise ConfigError(f"dataset '{spec.name}' ({group}): no row's images and videos could be used (data.media_errors=skip "
                          "left every row out)")
    ds = datasets.Dataset.from_list(rows)
    return ds.cast_column("images", datasets.List(datasets.Image()))


def load_vlm_data(specs: list, data: DataConfig, group: str = "data.datasets"):
    """All specs of one split with their images and video frames, combined (they must share one form); each spec
    names image_columns or video_columns (sft_vlm's check)."""
    parts = [_one(spec, data, group) for spec in specs]
    return combine(parts, specs, group, "SFT forms", "give all of them as prompt/completion, messages, or text")
