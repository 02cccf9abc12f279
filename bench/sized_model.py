"""Larger random-init Llama models for the scaling and growth sections, with the tiny model's tokenizer.

Built locally (no hub), once per shape, under the fai-rl cache; `python -m bench.sized_model` prints their sizes.
"""
from __future__ import annotations

from pathlib import Path

SHAPES = {
    # ~26M parameters: large enough that model and optimizer state dominate a rank's memory.
    "llama-26m": dict(hidden_size=512, intermediate_size=1408, num_hidden_layers=8, num_attention_heads=8),
    # ~3M parameters: compute-bound steps (unlike the ~100k tiny model), quick enough for a grid.
    "llama-3m": dict(hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=4),
}


def model_path(shape: str) -> Path:
    """Folder of the model `shape` (built on first use)."""
    from fai_rl.models.tiny import tiny_model_path
    from fai_rl.storage.cache import cache_dir

    tiny = tiny_model_path()
    target = cache_dir() / f"bench-{shape}-{tiny.name}"
    if not (target / "config.json").exists():
        build(SHAPES[shape], tiny, target)
    return target


def build(shape: dict, tiny: Path, target: Path) -> None:
    from transformers import AutoTokenizer

    from fai_rl.models.tiny import save_random_llama

    save_random_llama(AutoTokenizer.from_pretrained(tiny), target, max_position_embeddings=1024, **shape)


def parameters(path: Path) -> int:
    import json

    from transformers import LlamaConfig

    c = LlamaConfig(**json.loads((Path(path) / "config.json").read_text()))
    layer = 4 * c.hidden_size ** 2 + 3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size
    return c.num_hidden_layers * layer + c.vocab_size * c.hidden_size + c.hidden_size


if __name__ == "__main__":
    for name in SHAPES:
        path = model_path(name)
        print(f"{name}: {parameters(path) / 1e6:.1f}M parameters in {path}")
