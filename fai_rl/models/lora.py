"""LoRA / QLoRA with peft: the adapter config for a fresh adapter, or a saved adapter to continue."""
from __future__ import annotations

import json
from pathlib import Path

from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, prepare_model_for_kbit_training

from fai_rl.config.schema import LoraConfig


def is_adapter_folder(path: str) -> bool:
    return (Path(path) / "adapter_config.json").exists()


def adapter_base_model(path: str) -> str:
    """The base model a saved adapter was trained on."""
    return json.loads((Path(path) / "adapter_config.json").read_text())["base_model_name_or_path"]


def peft_config(lora: LoraConfig, head: str = "causal_lm"):
    """A peft LoraConfig for a fresh adapter (None when LoRA is off); a sequence-classification model also trains
    its score head (peft's SEQ_CLS task)."""
    if not lora.enabled:
        return None
    targets = lora.target_modules
    target = "all-linear" if targets == ["all-linear"] else list(targets)
    return PeftLoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=target,
                          bias=lora.bias, task_type="SEQ_CLS" if head == "sequence_classification" else "CAUSAL_LM")


def load_adapter(base_model, path: str):
    """Continue training a saved adapter on top of its base model."""
    return PeftModel.from_pretrained(base_model, path, is_trainable=True)


def prepare_quantized(model, gradient_checkpointing: bool):
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)


def save_merged(model, tokenizer, folder: Path) -> Path:
    """Merge the adapter into a copy of the base weights and save a plain model (loads without peft)."""
    merged = model.merge_and_unload()
    folder.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
