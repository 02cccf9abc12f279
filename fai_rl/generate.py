"""`fai-rl-generate`: completions for a file of prompts from any saved model, batched, written as jsonl.

    fai-rl-generate --model models/fai-rl-dpo/<time> --prompts prompts.jsonl --out completions.jsonl
Prompts: a .jsonl/.json/.csv/.parquet file (column --prompt-column, default prompt), a .txt file (one prompt a
line) or builtin:<dataset>. A prompt given as chat messages is rendered with the model's chat template; plain
strings are used as they are unless --chat wraps them as a user message.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fai_rl.config.errors import ConfigError


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="fai-rl-generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="saved model folder, adapter folder, hub name or builtin:tiny")
    p.add_argument("--prompts", required=True, help="prompt file (.jsonl/.json/.csv/.parquet/.txt) or builtin:<name>")
    p.add_argument("--out", required=True, help="output .jsonl (one line per prompt)")
    p.add_argument("--prompt-column", default="prompt")
    p.add_argument("--split", default="test", help="split of a builtin dataset (default test)")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--chat", action="store_true", help="wrap plain-string prompts as a user chat message")
    p.add_argument("--limit", type=int, default=None, help="only the first N prompts")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.max_new_tokens <= 0 or args.batch_size <= 0:
        p.error("--max-new-tokens and --batch-size must be > 0")
    return args


def read_prompts(source: str, column: str, split: str, limit=None) -> list:
    from fai_rl.config.schema import DatasetSpec
    from fai_rl.data.loading import load_spec, require_columns

    if source.endswith(".txt"):
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"prompt file {source} does not exist")
        prompts = [line for line in path.read_text().splitlines() if line.strip()]
    else:
        spec = DatasetSpec(name=source, split=split, prompt_column=column)
        ds = load_spec(spec)
        require_columns(ds, spec, {"prompt_column": column})
        prompts = list(ds[column])
    if not prompts:
        raise ConfigError(f"no prompts in {source}")
    return prompts[:limit] if limit else prompts


def render(prompt, tokenizer, chat: bool) -> str:
    if isinstance(prompt, list):
        return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    if chat:
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return str(prompt)


def generate(model, tokenizer, texts: list, max_new_tokens: int, batch_size: int, temperature: float,
             progress: bool = True) -> list:
    import torch
    from tqdm.auto import tqdm

    tokenizer.padding_side = "left"
    outputs = []
    sampling = dict(do_sample=True, temperature=temperature) if temperature > 0 else dict(do_sample=False)
    for start in tqdm(range(0, len(texts), batch_size), disable=not progress, desc="generating"):
        batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(model.device)
        with torch.no_grad():
            ids = model.generate(**batch, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                 **sampling)
        outputs += tokenizer.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
    return outputs


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        from fai_rl.config.schema import HardwareConfig, ModelConfig
        from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path

        prompts = read_prompts(args.prompts, args.prompt_column, args.split, args.limit)
        mcfg = ModelConfig(base_model_name=args.model)
        path = resolve_model_path(args.model)
        tokenizer = load_tokenizer(mcfg, path)
        model = load_model(mcfg, HardwareConfig(), path).eval()
    except ConfigError as err:
        print(f"fai-rl-generate: error: {err}", file=sys.stderr)
        return 2
    texts = [render(p, tokenizer, args.chat) for p in prompts]
    completions = generate(model, tokenizer, texts, args.max_new_tokens, args.batch_size, args.temperature,
                           progress=not args.quiet)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        for prompt, completion in zip(prompts, completions):
            f.write(json.dumps({"prompt": prompt, "completion": completion}) + "\n")
    print(f"{len(completions)} completions written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
