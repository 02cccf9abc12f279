"""A local model (folder, checkpoint, hub name, builtin:tiny, run:NAME) answering chats in batches, on the GPU when
there is one. With image_columns / video_columns, a vision-language model (trained with sft_vlm, builtin:tiny_vlm)
answers through its processor, each row's media fetched as its batch comes up: a row whose media cannot be had is
recorded as failed, naming the row and URL, and the others are answered."""
from __future__ import annotations

from pathlib import Path

import torch

from fai_rl.config.paths import RUN_PREFIX, newest_run_model
from fai_rl.config.schema import HardwareConfig, ModelConfig
from fai_rl.errors import ConfigError, MediaUnavailable
from fai_rl.models.generation import generate, generate_with_images
from fai_rl.models.loading import (
    adapter_base_model,
    hub_kwargs,
    is_adapter_folder,
    load_model,
    load_tokenizer,
    resolve_model_path,
)


def model_folder(reference: str) -> str:
    return newest_run_model(reference) if reference.startswith(RUN_PREFIX) else resolve_model_path(reference)


def tokenizer_folder(path: str) -> str:
    """A checkpoint saved without its tokenizer uses its run's (the folder above it)."""
    folder = Path(path)
    if folder.is_dir() and not (folder / "tokenizer_config.json").exists() and \
            (folder.parent / "tokenizer_config.json").exists():
        return str(folder.parent)
    return path


def chat_text(tokenizer, chat: list) -> str:
    """The prompt a model sees for a chat: its chat template, or the turns one a line for a base model without one."""
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    return "\n".join(message["content"] for message in chat)


def record_failure(batch: list, err: Exception, record) -> None:
    """Every row of a batch that failed (out of memory, a too-long prompt...) is recorded failed; the run goes on."""
    for row, _ in batch:
        record(row, None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")


def is_vision_language(path: str) -> bool:
    """Whether the model at `path` (or an adapter's base model) has a vision tower; True when its config cannot be
    read here (loading it then says why)."""
    from transformers import AutoConfig

    weights = adapter_base_model(path) if is_adapter_folder(path) else path
    try:
        return getattr(AutoConfig.from_pretrained(weights, **hub_kwargs(weights)), "vision_config", None) is not None
    except (OSError, ValueError):
        return True


class LocalEngine:
    def __init__(self, reference: str, recipe, rows: list | None = None):
        self.recipe, self.rows = recipe, rows
        path = model_folder(reference)
        self.media = recipe.media_key is not None
        if self.media and not is_vision_language(path):
            raise ConfigError(f"'{recipe.key(recipe.media_key)}' needs a vision-language model (one trained with "
                              f"algorithm=sft_vlm, e.g. from builtin:tiny_vlm); '{reference}' reads text only")
        config = ModelConfig(base_model_name=reference if not reference.startswith(RUN_PREFIX) else path)
        self.tokenizer = load_tokenizer(config, tokenizer_folder(path), image_text=self.media)
        self.model = load_model(config, HardwareConfig(), path, "image_text" if self.media else "causal_lm").eval()
        if torch.cuda.is_available():
            self.model.to("cuda")
        if self.media:
            from fai_rl.inference.media import media_spec  # heavy: PIL, PyAV

            self.media_spec = media_spec(recipe)

    def text(self, chat: list) -> str:
        return chat_text(self.tokenizer, chat)

    def with_media(self, batch: list, record) -> tuple:
        """(the rows of `batch` whose images and videos could be had, their images); the others recorded failed."""
        from fai_rl.inference.media import failure, row_media  # heavy: PIL, PyAV

        kept, images = [], []
        for row, chat in batch:
            try:
                images.append(row_media(self.rows[row], f"row {row}", self.media_spec))
            except MediaUnavailable as err:
                record(row, None, failure(self.recipe, err))
                continue
            kept.append((row, chat))
        return kept, images

    def generate(self, batch: list, images: list | None) -> list:
        r = self.recipe
        temperature = r.temperature if r.do_sample else 0.0
        if images is not None:
            return generate_with_images(self.model, self.tokenizer, [chat["messages"] for _, chat in batch], images,
                                        r.max_new_tokens, temperature, r.top_p)
        return generate(self.model, self.tokenizer, [self.text(chat) for _, chat in batch], r.max_new_tokens,
                        len(batch), temperature, progress=False, top_p=r.top_p)

    def answer(self, todo: list, record) -> None:
        """todo: [(row, chat)]; record(row, response, error) after each batch."""
        for start in range(0, len(todo), self.recipe.batch_size):
            batch, images = todo[start:start + self.recipe.batch_size], None
            if self.media:
                batch, images = self.with_media(batch, record)
                if not batch:
                    continue
            try:
                responses = self.generate(batch, images)
            except (RuntimeError, ValueError) as err:
                record_failure(batch, err, record)
                continue
            for (row, _), response in zip(batch, responses):
                record(row, response, None)


def label(reference: str) -> str:
    """A short name for a model in columns and tables: its folder name (checkpoint-200), else the reference."""
    return Path(reference).name if Path(reference).name and not reference.startswith(RUN_PREFIX) else reference
