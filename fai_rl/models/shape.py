"""A model's architecture facts, read without loading weights: its config.json (a local folder, run:<name>, the
Hugging Face cache) or, for the models conf/model/ names and builtin:tiny, fai_rl/models/model_shapes.json."""
from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

from fai_rl.config.paths import BUILTIN_PREFIX, RUN_PREFIX, newest_run_model
from fai_rl.storage.remote import is_remote

# data, not code: the shapes file ships beside the tiny model's builder (fai_rl/models/tiny.py builds builtin:tiny from it)
SHAPES_FILE = Path(__file__).parents[1] / "models" / "model_shapes.json"
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@functools.lru_cache(maxsize=None)
def known_shapes() -> dict:
    return {k: v for k, v in json.loads(SHAPES_FILE.read_text()).items() if not k.startswith("_")}


@dataclass(frozen=True)
class Shape:
    """A decoder-only transformer (Llama, Qwen2, Mistral, ...): what its memory depends on."""

    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    tied: bool
    dtype_bytes: int  # of the checkpoint's weights (torch_dtype=auto loads these)
    source: str       # where the facts came from, for the printed line
    model_type: str = ""  # config.json's model_type (llama, qwen2, ...): which fused kernels fit
    vision: int = 0  # parameters of a vision-language model's vision tower and projector (vision_parameters)

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def linears(self) -> dict:
        """{name: (in, out)} of one layer's linear modules."""
        h, q, kv, i = self.hidden, self.heads * self.head_dim, self.kv_dim, self.intermediate
        return {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h),
                "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    @property
    def layer_linear_parameters(self) -> int:
        return sum(a * b for a, b in self.linears().values())

    @property
    def embedding_parameters(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def parameters(self) -> int:
        """Embeddings (+ untied LM head), the layers' linears and norms, the final norm; a vision tower's."""
        return (self.embedding_parameters + self.layers * (self.layer_linear_parameters + 2 * self.hidden)
                + self.hidden + self.vision)

    def lora_parameters(self, r: int, targets) -> int:
        """Adapter parameters for rank r on the named modules (all-linear: every linear of every layer)."""
        chosen = LINEARS if "all-linear" in targets else [t for t in targets if t in LINEARS]
        return self.layers * sum(r * sum(self.linears()[name]) for name in chosen)


def vision_parameters(vision: dict, text_hidden: int) -> int:
    """Parameters of a vision tower and its projector from config.json's vision_config: a ViT (CLIP/SigLIP: layer
    norms, learned positions) behind LLaVA's two-layer projector, or Qwen-VL's (depth, RMSNorm, a gated MLP when
    hidden_act is silu, Conv3d patches, the 2x2 patch merger); exact for Qwen2.5-VL, biases of others approximate."""
    h = vision.get("embed_dim") or vision.get("hidden_size")
    if not h:
        return 0
    inner = vision.get("intermediate_size") or h * vision.get("mlp_ratio", 4)
    gated, merge, p = vision.get("hidden_act") in ("silu", "swish"), vision.get("spatial_merge_size"), vision["patch_size"]
    mlp = (3 * h * inner + 2 * inner + h) if gated else (2 * h * inner + inner + h)
    block = 4 * h * h + 4 * h + mlp + (2 if merge else 4) * h  # attention with biases, MLP, two norms
    channels = vision.get("in_channels") or vision.get("in_chans") or vision.get("num_channels", 3)
    patches = channels * vision.get("temporal_patch_size", 1) * p * p * h
    positions = ((vision["image_size"] // p) ** 2 + 1) * h if "image_size" in vision else 0
    out = vision.get("out_hidden_size") or text_hidden
    wide = h * merge * merge if merge else 0
    projector = (h + wide * wide + wide + wide * out + out) if merge else (h * out + out + out * out + out)
    return (vision.get("depth") or vision.get("num_hidden_layers", 0)) * block + patches + positions + projector


def from_config(cfg: dict, source: str) -> Shape:
    model_type, vision = cfg.get("model_type", ""), cfg.get("vision_config")
    cfg = cfg.get("text_config", cfg)  # multimodal configs nest the language model's
    heads = cfg["num_attention_heads"]
    return Shape(vocab=cfg["vocab_size"], hidden=cfg["hidden_size"], intermediate=cfg["intermediate_size"],
                 layers=cfg["num_hidden_layers"], heads=heads, kv_heads=cfg.get("num_key_value_heads") or heads,
                 head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
                 tied=bool(cfg.get("tie_word_embeddings", True)),  # transformers' default
                 dtype_bytes=DTYPE_BYTES.get(cfg.get("torch_dtype") or cfg.get("dtype"), 4), source=source,
                 model_type=model_type, vision=vision_parameters(vision, cfg["hidden_size"]) if vision else 0)


def hub_cache_config(name: str):
    """config.json of a hub model already in the local Hugging Face cache, or None."""
    home = os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")
    cache = Path(os.environ.get("HF_HUB_CACHE", Path(home) / "hub"))
    found = sorted((cache / f"models--{name.replace('/', '--')}" / "snapshots").glob("*/config.json"))
    return found[-1] if found else None


def model_shape(name: str):
    """The Shape of model `name`, or None when it cannot be known without downloading (an unknown hub id, s3://)."""
    if name in known_shapes():
        return from_config(known_shapes()[name], f"{SHAPES_FILE.name}: {name}")
    if name.startswith(BUILTIN_PREFIX) or is_remote(name):
        return None
    path = Path(newest_run_model(name) if name.startswith(RUN_PREFIX) else name).expanduser()
    if (path / "adapter_config.json").exists() and not (path / "config.json").exists():
        base = json.loads((path / "adapter_config.json").read_text()).get("base_model_name_or_path")
        return model_shape(base) if base else None  # a LoRA adapter: its base model's shape
    config = path / "config.json" if (path / "config.json").exists() else hub_cache_config(name)
    try:
        return from_config(json.loads(Path(config).read_text()), str(config)) if config else None
    except (KeyError, ValueError):
        return None  # not a decoder-only text model this estimate knows


def is_tiny_model(name: str) -> bool:
    """builtin:tiny, or a folder (or run:NAME) of a model with its shape: the tiny model and the models trained from
    it, which the demo settings (conf/demo/tiny.yaml) are for. A hub id, s3:// or a folder of another model: False."""
    if name.startswith(BUILTIN_PREFIX):
        return True
    if is_remote(name):
        return False
    shape = model_shape(name)
    tiny = from_config(known_shapes()["builtin:tiny"], "")
    plain = dict(source="", dtype_bytes=0, tied=False, model_type="", vision=0)
    return shape is not None and dataclasses.replace(shape, **plain) == dataclasses.replace(tiny, **plain)
