"""`fai-rl-generate`: completions for a file of prompts from any saved model, batched, written as jsonl.

    fai-rl-generate --model models/fai-rl-dpo/<time> --prompts prompts.jsonl --out completions.jsonl
Prompts: a .jsonl/.json/.csv/.parquet file (column --prompt-column, default prompt), a .txt file (one prompt a
line) or builtin:<dataset>. A prompt given as chat messages is rendered with the model's chat template; plain
strings are used as they are unless --chat wraps them as a user message.
--image-column COLUMN (repeatable): a vision-language model (trained with sft_vlm) sees each row's images, fetched as
sft_vlm fetches them (URL, path, s3://, bytes; sft_vlm's default media settings) and placed before the prompt's text;
a row whose image cannot be had stops the run naming the row and URL.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from fai_rl.cli.entry import console_script
from fai_rl.config.hardware import prefer_expandable_segments
from fai_rl.config.schema import HardwareConfig, ModelConfig

PROG = "fai-rl-generate"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
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
    p.add_argument("--image-column", action="append", default=[], metavar="COLUMN",
                   help="a vision-language model: the column holding each prompt's image(s) (repeatable)")
    args = p.parse_args(argv)
    if args.max_new_tokens <= 0 or args.batch_size <= 0:
        p.error("--max-new-tokens and --batch-size must be > 0")
    return args


@console_script(PROG)
def main(argv=None) -> int:
    args = parse_args(argv)
    prefer_expandable_segments()
    # heavy: datasets, torch and transformers load only once the arguments parsed
    from fai_rl.data.prompt_file import read_prompts
    from fai_rl.models.generation import generate, render
    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path

    if args.image_column:
        prompts, completions = with_images(args)
    else:
        prompts = read_prompts(args.prompts, args.prompt_column, args.split, args.limit)
        mcfg = ModelConfig(base_model_name=args.model)
        path = resolve_model_path(args.model)
        tokenizer = load_tokenizer(mcfg, path)
        model = load_model(mcfg, HardwareConfig(), path).eval()
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


def with_images(args) -> tuple:
    """(prompts, completions) of a vision-language model, each prompt with its row's images."""
    # heavy: datasets, PIL, PyAV, torch and transformers load only for a vision-language model's run
    from fai_rl.config.schema import DataConfig, DatasetSpec
    from fai_rl.data.prompt_file import read_prompt_rows
    from fai_rl.errors import ConfigError
    from fai_rl.inference.local_engine import is_vision_language
    from fai_rl.inference.media import row_media
    from fai_rl.models.generation import generate_with_images
    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path

    rows = read_prompt_rows(args.prompts, args.prompt_column, args.split, args.image_column, args.limit)
    path = resolve_model_path(args.model)
    if not is_vision_language(path):
        raise ConfigError(f"--image-column needs a vision-language model (trained with algorithm=sft_vlm, e.g. from "
                          f"builtin:tiny_vlm); '{args.model}' reads text only")
    mcfg = ModelConfig(base_model_name=args.model)
    processor = load_tokenizer(mcfg, path, image_text=True)
    model = load_model(mcfg, HardwareConfig(), path, "image_text").eval()
    spec, data = DatasetSpec(name=args.prompts, image_columns=args.image_column), DataConfig()
    prompts = [row[args.prompt_column] for row in rows]
    chats = [p if isinstance(p, list) else [{"role": "user", "content": str(p)}] for p in prompts]
    completions = []
    for start in range(0, len(rows), args.batch_size):
        images = [row_media(row, f"{args.prompts} row {n}", (spec, data))
                  for n, row in enumerate(rows[start:start + args.batch_size], start)]
        completions += generate_with_images(model, processor, chats[start:start + args.batch_size], images,
                                            args.max_new_tokens, args.temperature)
    return prompts, completions


if __name__ == "__main__":
    raise SystemExit(main())
