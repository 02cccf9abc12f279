"""Load tokenizer and causal LM from a hub name, a local folder or builtin:tiny, as the model section asks; an
image-text algorithm (sft_vlm) loads the processor and the image-text model instead (builtin:tiny_vlm)."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml
from transformers import (
    AutoModelForCausalLM,
    AutoModelForImageTextToText,
    AutoModelForSequenceClassification,
    AutoProcessor,
    AutoTokenizer,
    BitsAndBytesConfig,
)

from fai_rl.config.paths import BUILTIN_PREFIX, check_model_name
from fai_rl.config.schema import HardwareConfig, ModelConfig
from fai_rl.errors import ConfigError
from fai_rl.models.lora import adapter_base_model, is_adapter_folder, load_adapter
from fai_rl.models.tiny import tiny_model_path
from fai_rl.models.tiny_vlm import tiny_vlm_path
from fai_rl.storage import hub
from fai_rl.storage.cache import cached_copy
from fai_rl.storage.remote import is_remote

BUILTIN_MODELS = {"tiny": tiny_model_path, "tiny_vlm": tiny_vlm_path}
VISION_TOWERS = ("vision_tower", "visual", "vision_model")  # where LLaVA, Qwen-VL and others keep theirs


def resolve_model_path(name: str, endpoint_url: str | None = None, region: str | None = None) -> str:
    """builtin:tiny -> its cached folder; s3://... -> its copy in the cache; a local path must be a model folder;
    anything else is a hub name."""
    if is_remote(name):
        return str(cached_copy(name, endpoint_url, region, "model.base_model_name"))
    if name.startswith(BUILTIN_PREFIX):
        which = name[len(BUILTIN_PREFIX):]
        if which not in BUILTIN_MODELS:
            raise ConfigError(f"unknown built-in model '{name}' in model.base_model_name; valid: "
                              + ", ".join(BUILTIN_PREFIX + n for n in BUILTIN_MODELS))
        return str(BUILTIN_MODELS[which]())
    return check_model_name(name)


def model_kwargs(mcfg: ModelConfig, hardware: HardwareConfig) -> dict:
    kwargs = {"trust_remote_code": mcfg.trust_remote_code}
    if mcfg.torch_dtype != "auto":
        kwargs["dtype"] = getattr(torch, mcfg.torch_dtype)
    kwargs["attn_implementation"] = "flash_attention_2" if mcfg.use_flash_attention else "sdpa"
    if mcfg.load_in_8bit or mcfg.load_in_4bit:
        compute = mcfg.bnb_4bit_compute_dtype or (mcfg.torch_dtype if mcfg.torch_dtype != "auto" else "bfloat16")
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_8bit=mcfg.load_in_8bit, load_in_4bit=mcfg.load_in_4bit,
            bnb_4bit_compute_dtype=getattr(torch, compute), bnb_4bit_quant_type=mcfg.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=mcfg.bnb_4bit_use_double_quant,
        )
    return kwargs


def hub_kwargs(path: str) -> dict:
    """from_pretrained arguments for `path`: a hub name is read from the local cache only when the hub cannot
    answer (no minute of retries)."""
    return {"local_files_only": True} if not Path(path).exists() and hub.local_only() else {}


def load_error(mcfg: ModelConfig, path: str, what: str, err: OSError) -> ConfigError:
    if hub_kwargs(path):
        return ConfigError(hub.not_available(what, "model.base_model_name", mcfg.base_model_name))
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return ConfigError(f"could not load {what} of model.base_model_name '{mcfg.base_model_name}': {first}")


def load_tokenizer(mcfg: ModelConfig, path: str | None = None, image_text: bool = False):
    """The tokenizer; image_text: the processor (images + text), its tokenizer padded the same way."""
    path = path or resolve_model_path(mcfg.base_model_name)
    auto = AutoProcessor if image_text else AutoTokenizer
    try:
        loaded = auto.from_pretrained(path, trust_remote_code=mcfg.trust_remote_code, **hub_kwargs(path))
    except OSError as err:
        raise load_error(mcfg, path, "the processor" if image_text else "the tokenizer", err)
    except (ImportError, ValueError) as err:  # e.g. a Qwen-VL processor's video part without torchvision
        if not image_text:
            raise
        raise ConfigError(f"could not build the processor of model.base_model_name '{mcfg.base_model_name}': "
                          f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}")
    tok = text_tokenizer(loaded)
    if image_text and tok is loaded:
        raise ConfigError(f"model.base_model_name '{mcfg.base_model_name}' has a tokenizer but no image processor: "
                          "an image-text algorithm (sft_vlm) needs a vision-language model, e.g. builtin:tiny_vlm")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return loaded


def text_tokenizer(processing):
    """The tokenizer of a processor, or the tokenizer itself."""
    inner = getattr(processing, "tokenizer", None)
    return inner if inner is not None and hasattr(processing, "image_processor") else processing


def freeze_vision_tower(model) -> int:
    """Stop training the vision encoder (model.freeze_vision_tower); the parameters frozen."""
    towers = [m for name, m in model.named_modules() if name.rsplit(".", 1)[-1] in VISION_TOWERS]
    frozen = 0
    for tower in towers:
        for p in tower.parameters():
            frozen += p.numel() if p.requires_grad else 0
            p.requires_grad_(False)
    return frozen


def language_model_lora(model, peft_config):
    """A fresh adapter's config limited to the language model of a vision-language model: its target modules
    become the full names of the matching linear layers outside the vision tower and projector (peft's all-linear
    or a bare q_proj would reach into the vision tower too); None stays None."""
    if peft_config is None:
        return None
    wanted = peft_config.target_modules
    every = wanted == "all-linear" or "all-linear" in (wanted or [])
    skipped = (*VISION_TOWERS, "multi_modal_projector", "merger", "lm_head")
    names = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)
             and not set(name.split(".")) & set(skipped) and (every or name.rsplit(".", 1)[-1] in wanted)]
    if not names:
        raise ConfigError(f"model.lora.target_modules {wanted} names no linear layer of the language model")
    peft_config.target_modules = set(names)
    return peft_config


def load_model(mcfg: ModelConfig, hardware: HardwareConfig, path: str | None = None, head: str = "causal_lm"):
    """The model an algorithm trains (its MODEL_HEAD): the causal LM; sequence_classification: the model with a
    one-output score head (a reward model; a fresh head when the folder holds a causal LM); image_text: the
    image-text model, its vision tower frozen with model.freeze_vision_tower. A saved LoRA adapter folder loads its
    base model with the adapter on top, trainable."""
    path = path or resolve_model_path(mcfg.base_model_name)
    weights = adapter_base_model(path) if is_adapter_folder(path) else path
    auto, extra = {"sequence_classification": (AutoModelForSequenceClassification, {"num_labels": 1}),
                   "image_text": (AutoModelForImageTextToText, {})}.get(head, (AutoModelForCausalLM, {}))
    try:
        model = auto.from_pretrained(weights, **extra, **model_kwargs(mcfg, hardware), **hub_kwargs(weights))
    except OSError as err:
        raise load_error(mcfg, weights, "the model", err)
    except ValueError as err:  # transformers: the config is of no image-text model class
        if head != "image_text":
            raise
        raise ConfigError(f"model.base_model_name '{mcfg.base_model_name}' is not a vision-language model an "
                          f"image-text algorithm (sft_vlm) can train: {str(err).splitlines()[0]}")
    if head == "sequence_classification" and model.config.pad_token_id is None:  # the score: last token before padding
        eos = model.config.eos_token_id
        model.config.pad_token_id = eos[0] if isinstance(eos, list) else eos
    if head == "image_text" and mcfg.freeze_vision_tower:
        freeze_vision_tower(model)
    return load_adapter(model, path) if is_adapter_folder(path) else model

RUN_CONFIG_FILE = "fai_rl_config.yaml"  # the resolved run config, saved beside every trained model


def trained_from(path: str) -> str | None:
    """The base model a saved fai-rl model (or adapter) was trained from, if it says."""
    if is_adapter_folder(path):
        return adapter_base_model(path)
    config = Path(path) / RUN_CONFIG_FILE
    if config.exists():
        return (yaml.safe_load(config.read_text()).get("model") or {}).get("base_model_name")
    return None
