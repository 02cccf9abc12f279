"""A learned reward: `reward_model:<folder | hub id | run:NAME>` in algorithm.rewards scores every completion with a
sequence-classification model of one output (what `algorithm=reward` saves), for any algorithm that generates.

Checked while the config is validated (light: no torch here): a folder or run:NAME must hold a model whose
config.json names a ...ForSequenceClassification architecture with one label; a hub id is checked the same way when
its config is in the local cache. The model loads once per process, on that process's device, on first use, and
scores without gradients in batches of the entry's `batch_size`, each prompt + completion written as its own
tokenizer writes it (its chat template for chat prompts; text + its end-of-sequence token otherwise, as
RewardTrainer trained it).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fai_rl.config.paths import RUN_PREFIX, newest_run_model
from fai_rl.errors import ConfigError
from fai_rl.models.shape import hub_cache_config

PREFIX = "reward_model:"
DEFAULT_BATCH_SIZE = 8


def is_reward_model(target: str) -> bool:
    return target.startswith(PREFIX)


def model_location(target: str, where: str) -> str:
    """`reward_model:<x>` -> the folder or hub id it scores with, checked: a sequence classifier of one output."""
    name = target[len(PREFIX):].strip()
    if not name:
        raise ConfigError(f"'{where}' reward_model: names no model; write reward_model:<folder | hub id | run:NAME>")
    try:
        path = newest_run_model(name) if name.startswith(RUN_PREFIX) else name
    except ConfigError as err:
        raise ConfigError(f"'{where}' {target}: {err}")
    local = Path(path).expanduser()
    looks_local = path.startswith((".", "/", "~")) or local.exists()
    config = local / "config.json" if looks_local else hub_cache_config(path)
    if looks_local and not (local / "config.json").exists():
        raise ConfigError(f"'{where}' {target}: {local} is not a saved model folder (no config.json); train one with "
                          "algorithm=reward")
    if config is not None:
        _check_classifier(json.loads(Path(config).read_text()), target, where)
    return str(local.resolve()) if looks_local else path


def _check_classifier(config: dict, target: str, where: str) -> None:
    architectures = config.get("architectures") or []
    labels = len(config.get("id2label") or {}) or config.get("num_labels", 2)
    if not any(a.endswith("ForSequenceClassification") for a in architectures) or labels != 1:
        raise ConfigError(f"'{where}' {target} is not a reward model: its config.json has architectures "
                          f"{architectures or 'none'} with {labels} label(s); a reward model is a "
                          "...ForSequenceClassification with 1 label (train one with algorithm=reward)")


@lru_cache(maxsize=None)
def _loaded(path: str):
    """(model, tokenizer) of `path` on this process's device, in eval mode: once per process."""
    from accelerate import PartialState  # heavy: on first use only
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    model = AutoModelForSequenceClassification.from_pretrained(path).to(PartialState().device).eval()
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def _text(tokenizer, prompt, completion) -> str:
    if isinstance(completion, list):  # chat: the conversation in the reward model's own template
        return tokenizer.apply_chat_template(list(prompt or []) + completion, tokenize=False)
    text = f"{prompt or ''}{completion}"
    return text if text.endswith(tokenizer.eos_token) else text + tokenizer.eos_token


class RewardModel:
    """TRL's reward signature: (prompts, completions, **kwargs) -> one score per completion."""

    def __init__(self, path: str, batch_size: int = DEFAULT_BATCH_SIZE, max_length: int | None = None):
        self.path, self.batch_size, self.max_length = path, batch_size, max_length
        self.__name__ = "reward_model"

    def __call__(self, prompts=None, completions=None, **kwargs) -> list:
        import torch  # heavy: only inside a running trainer

        model, tokenizer = _loaded(self.path)
        texts = [_text(tokenizer, p, c) for p, c in zip(prompts or [None] * len(completions), completions)]
        plain = not (completions and isinstance(completions[0], list))  # a chat template writes its own specials
        scores = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = tokenizer(texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                  truncation=self.max_length is not None, max_length=self.max_length,
                                  add_special_tokens=plain).to(model.device)
                scores += model(**batch).logits[:, 0].float().tolist()
        return scores


def reward_model(target: str, kwargs: dict, where: str) -> RewardModel:
    """The scorer of entry `where` (its keyword arguments: batch_size, max_length), checked before training."""
    unknown = set(kwargs) - {"batch_size", "max_length"}
    if unknown:
        raise ConfigError(f"'{where}' {target} does not take {', '.join(sorted(unknown))}; its settings: "
                          "batch_size, max_length")
    for key in ("batch_size", "max_length"):
        value = kwargs.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            raise ConfigError(f"'{where}.{key}' must be a whole number > 0, got {value!r}")
    return RewardModel(model_location(target, where), **kwargs)
