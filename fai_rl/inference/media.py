"""A row's images and videos for a local vision-language model (image_columns / video_columns of an inference or
evaluation recipe), fetched, cached and checked as sft_vlm's data are (fai_rl/data/vlm.py, fai_rl/data/media.py)
with the recipe's media settings; a video becomes its sampled frames, after the row's images."""
from __future__ import annotations

import io

from PIL import Image

from fai_rl.cli.inference_recipe import MEDIA_SETTINGS
from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.data.vlm import row_images


def media_spec(recipe) -> tuple:
    """(the DatasetSpec naming the media columns, the DataConfig holding the media settings) of a recipe."""
    spec = DatasetSpec(name=recipe.dataset_name, split=recipe.dataset_split, image_columns=list(recipe.image_columns),
                       video_columns=list(recipe.video_columns))
    return spec, DataConfig(**{name: getattr(recipe, name) for name in MEDIA_SETTINGS})


def row_media(row: dict, where: str, spec_and_data: tuple) -> list:
    """A row's images (PIL), then its videos' frames; MediaUnavailable naming `where` (its row), column and URL
    (also fai-rl-generate --image-column's)."""
    spec, data = spec_and_data
    return [Image.open(io.BytesIO(image["bytes"])) for image in row_images(row, spec, data, where)]


def failure(recipe, err: Exception) -> str:
    """The one line recorded for a row whose media cannot be had (the recipe's key names, not sft_vlm's)."""
    text = str(err).split("; fix the row")[0]
    for kind in ("image", "video"):
        text = text.replace(f"data.{kind}_fetch_timeout", recipe.key(f"{kind}_fetch_timeout"))
    return text
