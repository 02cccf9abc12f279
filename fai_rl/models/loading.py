"""Load tokenizer and causal LM from a hub name, a local folder or builtin:tiny, as the model section asks."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, BitsAndBytesConfig

from fai_rl.config.paths import BUILTIN_PREFIX, check_model_name
from fai_rl.config.schema import HardwareConfig, ModelConfig
from fai_rl.errors import ConfigError
from fai_rl.models.lora import adapter_base_model, is_adapter_folder, load_adapter
from fai_rl.models.tiny import tiny_model_path
from fai_rl.storage import hub
from fai_rl.storage.cache import cached_copy
from fai_rl.storage.remote import is_remote


def resolve_model_path(name: str, endpoint_url: str | None = None, region: str | None = None) -> str:
    """builtin:tiny -> its cached folder; s3://... -> its copy in the cache; a local path must be a model folder;
    anything else is a hub name."""
    if is_remote(name):
        return str(cached_copy(name, endpoint_url, region, "model.base_model_name"))
    if name.startswith(BUILTIN_PREFIX):
        which = name[len(BUILTIN_PREFIX):]
        if which != "tiny":
            raise ConfigError(f"unknown built-in model '{name}' in model.base_model_name; valid: builtin:tiny")
        return str(tiny_model_path())
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


def load_tokenizer(mcfg: ModelConfig, path: str | None = None):
    path = path or resolve_model_path(mcfg.base_model_name)
    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=mcfg.trust_remote_code, **hub_kwargs(path))
    except OSError as err:
        raise load_error(mcfg, path, "the tokenizer", err)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(mcfg: ModelConfig, hardware: HardwareConfig, path: str | None = None, head: str = "causal_lm"):
    """The causal LM, or with head=sequence_classification the model with a one-output score head (a reward model;
    a fresh head when the folder holds a causal LM); a saved LoRA adapter folder loads its base model with the
    adapter on top, trainable."""
    path = path or resolve_model_path(mcfg.base_model_name)
    weights = adapter_base_model(path) if is_adapter_folder(path) else path
    scorer = head == "sequence_classification"
    auto, extra = (AutoModelForSequenceClassification, {"num_labels": 1}) if scorer else (AutoModelForCausalLM, {})
    try:
        model = auto.from_pretrained(weights, **extra, **model_kwargs(mcfg, hardware), **hub_kwargs(weights))
    except OSError as err:
        raise load_error(mcfg, weights, "the model", err)
    if scorer and model.config.pad_token_id is None:  # the score is read at the last token before the padding
        eos = model.config.eos_token_id
        model.config.pad_token_id = eos[0] if isinstance(eos, list) else eos
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
