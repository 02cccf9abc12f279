"""A local model (folder, checkpoint, hub name, builtin:tiny, run:NAME) answering chats in batches, on the GPU when
there is one."""
from __future__ import annotations

from pathlib import Path

import torch

from fai_rl.config.paths import RUN_PREFIX, newest_run_model
from fai_rl.config.schema import HardwareConfig, ModelConfig
from fai_rl.models.generation import generate
from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path


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


class LocalEngine:
    def __init__(self, reference: str, recipe):
        self.recipe = recipe
        path = model_folder(reference)
        config = ModelConfig(base_model_name=reference if not reference.startswith(RUN_PREFIX) else path)
        self.tokenizer = load_tokenizer(config, tokenizer_folder(path))
        self.model = load_model(config, HardwareConfig(), path).eval()
        if torch.cuda.is_available():
            self.model.to("cuda")

    def text(self, chat: list) -> str:
        return chat_text(self.tokenizer, chat)

    def answer(self, todo: list, record) -> None:
        """todo: [(row, chat)]; record(row, response, error) after each batch."""
        r = self.recipe
        temperature = r.temperature if r.do_sample else 0.0
        for start in range(0, len(todo), r.batch_size):
            batch = todo[start:start + r.batch_size]
            try:
                responses = generate(self.model, self.tokenizer, [self.text(chat) for _, chat in batch],
                                     r.max_new_tokens, len(batch), temperature, progress=False, top_p=r.top_p)
            except (RuntimeError, ValueError) as err:
                record_failure(batch, err, record)
                continue
            for (row, _), response in zip(batch, responses):
                record(row, response, None)


def label(reference: str) -> str:
    """A short name for a model in columns and tables: its folder name (checkpoint-200), else the reference."""
    return Path(reference).name if Path(reference).name and not reference.startswith(RUN_PREFIX) else reference
