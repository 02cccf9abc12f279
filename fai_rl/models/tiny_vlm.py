"""The embedded vision-language model: builtin:tiny's tokenizer and language model behind a one-layer CLIP vision
tower (LLaVA), random init, built locally.

`builtin:tiny_vlm` resolves to a folder in the cache (FAI_RL_CACHE) built once, deterministically, and loaded with
`from_pretrained` afterwards. Every image is resized to 32x32 and becomes 16 image tokens (8x8 patches); the
processor is transformers' own (LlavaProcessor with CLIP's PIL image processor), so it needs no hub.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

from fai_rl.models import tiny
from fai_rl.storage.cache import cache_dir

BUILDER_VERSION = 1
SPEC = json.loads(tiny.SHAPES_FILE.read_text())["builtin:tiny_vlm"]
IMAGE_TOKEN = "<image>"
# builtin:tiny's chat format with content parts: an image part becomes the processor's image token
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}" + IMAGE_TOKEN + "{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def fingerprint() -> str:
    return hashlib.sha256(json.dumps([BUILDER_VERSION, SPEC, CHAT_TEMPLATE, tiny.fingerprint()]).encode()).hexdigest()[:12]


def tiny_vlm_path() -> Path:
    """Folder holding the tiny vision-language model and its processor; built on first use."""
    target = cache_dir() / f"tiny_vlm-{fingerprint()}"
    if not (target / "config.json").exists():
        build(target)
    return target


def build_processor() -> LlavaProcessor:
    tok = tiny.build_tokenizer()
    tok.add_tokens([IMAGE_TOKEN], special_tokens=True)
    tok.chat_template = CHAT_TEMPLATE
    side = SPEC["vision_config"]["image_size"]
    images = CLIPImageProcessorPil(size={"shortest_edge": side}, crop_size={"height": side, "width": side})
    return LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=SPEC["vision_config"]["patch_size"],
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=CHAT_TEMPLATE, image_token=IMAGE_TOKEN)


def build(target: Path) -> None:
    processor = build_processor()
    tok = processor.tokenizer
    text = dict(SPEC["text_config"], model_type="llama", vocab_size=len(tok), tie_word_embeddings=True,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    vision = dict(SPEC["vision_config"], model_type="clip_vision_model", projection_dim=SPEC["vision_config"]["hidden_size"])
    config = LlavaConfig(text_config=text, vision_config=vision, image_token_id=tok.convert_tokens_to_ids(IMAGE_TOKEN),
                         vision_feature_select_strategy="default", vision_feature_layer=-1, tie_word_embeddings=True)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LlavaForConditionalGeneration(config)
    tiny.save_whole(target, model, processor)
