"""The embedded default model: a ~100k-parameter Llama with a byte-level BPE tokenizer, built locally.

`builtin:tiny` resolves to a folder in the cache (FAI_RL_CACHE, default ~/.cache/fai-rl) that is built once,
deterministically, from text shipped in the package, and loaded with `from_pretrained` afterwards.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from fai_rl.storage.cache import cache_dir

BUILDER_VERSION = 1
SHAPES_FILE = Path(__file__).with_name("model_shapes.json")  # the memory estimate (fai_rl.launch) reads it too
SPEC = {k: v for k, v in json.loads(SHAPES_FILE.read_text())["builtin:tiny"].items() if k != "model_type"}  # a Llama
SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "<|end|>", "pad_token": "<pad>", "unk_token": "<unk>"}
CHAT_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
BUNDLED = Path(__file__).resolve().parent.parent / "data" / "bundled"


# A fixed list, so that shipping more bundled data does not change the tiny model (and every tuned setting).
CORPUS = ["tiny_math/test.jsonl", "tiny_math/train.jsonl", "tiny_prefs/test.jsonl", "tiny_prefs/train.jsonl",
          "tiny_vowels/test.jsonl", "tiny_vowels/train.jsonl"]


def corpus_files() -> list:
    return [BUNDLED / name for name in CORPUS]


def corpus_lines():
    for path in corpus_files():
        for line in path.read_text().splitlines():
            if path.suffix == ".jsonl" and line.strip():
                row = json.loads(line)
                yield " ".join(str(v) for v in row.values())
            elif line.strip():
                yield line


def fingerprint() -> str:
    digest = hashlib.sha256(json.dumps([BUILDER_VERSION, SPEC, CHAT_TEMPLATE]).encode())
    for path in corpus_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def tiny_model_path() -> Path:
    """Folder holding the tiny model and tokenizer; built on first use."""
    target = cache_dir() / f"tiny-{fingerprint()}"
    if not (target / "config.json").exists():
        build(target)
    return target


def build_tokenizer():
    bpe = ByteLevelBPETokenizer()
    specials = list(SPECIAL_TOKENS.values()) + CHAT_TOKENS
    bpe.train_from_iterator(list(corpus_lines()), vocab_size=SPEC["vocab_size"], min_frequency=2,
                            special_tokens=specials, show_progress=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, **SPECIAL_TOKENS,
                                  additional_special_tokens=CHAT_TOKENS)
    tok.chat_template = CHAT_TEMPLATE
    tok.model_max_length = SPEC["max_position_embeddings"]
    return tok


def build(target: Path) -> None:
    tok = build_tokenizer()
    save_random_llama(tok, target, **SPEC)


def save_random_llama(tok, target: Path, dtype=None, device: str = "cpu", **config) -> int:
    """A random-init Llama (seed 0) with `tok`'s vocabulary and special tokens, shaped by the LlamaConfig fields
    in `config` (num_key_value_heads defaults to num_attention_heads), saved with `tok` at `target`; its
    parameter count."""
    config = dict(config, vocab_size=len(tok))
    config.setdefault("num_key_value_heads", config["num_attention_heads"])
    llama = LlamaConfig(**config, tie_word_embeddings=True, bos_token_id=tok.bos_token_id,
                        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    with torch.random.fork_rng(), torch.device(device):
        torch.manual_seed(0)
        model = LlamaForCausalLM(llama)
    if dtype is not None:
        model = model.to(dtype)
    save_whole(target, model, tok)
    return sum(p.numel() for p in model.parameters())


def save_whole(target: Path, model, processing) -> None:
    """`model` and its tokenizer (or processor) saved at `target`; the folder appears whole or not at all, so
    concurrent builders (several ranks) race harmlessly."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        processing.save_pretrained(tmp)
        os.rename(tmp, target)
    except OSError:
        if not (target / "config.json").exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
