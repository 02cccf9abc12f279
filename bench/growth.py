"""Growth: how a DPO step's time grows with sequence length and batch size, on fai-rl's DPO path.

The driver runs `python -m bench.growth WORKDIR L,B ...` once; that worker composes fai-rl's default DPO job for
every grid point (max_length L, batch B, a ~3M-parameter Llama, synthetic pairs that fill L tokens), builds the
trainer with fai-rl's own functions and times every optimizer step.
"""
from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

from .common import PYTHON, Options, Section, job_env, median, run_timed, spread, table

LENGTHS, BATCHES = [32, 64, 128, 256], [2, 4, 8]
SMOKE_LENGTHS, SMOKE_BATCHES = [32, 64], [2]
STEPS, WARMUP = 6, 1  # timed steps per point after the warm-up step


def synthetic_pairs(path: Path, rows: int, words: int, response_words: int | None = None) -> Path:
    """Preference pairs of random corpus words: `words` in the prompt, `response_words` (default: as many) in each
    response; a word is at least one token."""
    from fai_rl.models.tiny import corpus_lines

    vocab = sorted({w for line in corpus_lines() for w in line.split() if w.isalpha()})
    rng = random.Random(0)
    text = lambda n: " ".join(rng.choice(vocab) for _ in range(n))  # noqa: E731
    answer = response_words or words
    path.write_text("".join(json.dumps({"prompt": text(words), "chosen": " " + text(answer),
                                        "rejected": " " + text(answer)}) + "\n" for _ in range(rows)))
    return path


def compose(overrides: list):
    from fai_rl.cli.compose import compose as compose_config
    from fai_rl.config.validate import validate

    return validate(compose_config(overrides))


def time_point(workdir: Path, model: str, length: int, batch: int) -> dict:
    """Step times (s) of fai-rl's DPO trainer at max_length=length, batch=batch."""
    from transformers import TrainerCallback, set_seed

    from fai_rl.algorithms import dpo
    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path
    from fai_rl.training.arguments import common_args

    point = workdir / f"growth-{length}-{batch}"
    data = synthetic_pairs(workdir / f"pairs-{length}-{batch}.jsonl", batch * (STEPS + WARMUP), length)
    run = compose(["demo=tiny", f"model.base_model_name={model}", f"data.datasets=[{{name: '{data}'}}]",  # demo: as before
                   "data.eval_datasets=[]",
                   f"data.max_length={length}", f"data.max_prompt_length={length // 2}",
                   f"training.per_device_train_batch_size={batch}", f"training.max_steps={STEPS + WARMUP}",
                   "training.save_steps=100000", "training.logging_steps=100000", "training.progress_bar=false",
                   f"training.output_dir={point}/model", f"run_dir={point}/run"])
    set_seed(run.training.seed)
    path = resolve_model_path(run.model.base_model_name)
    tokenizer = load_tokenizer(run.model, path)
    train_ds, _ = dpo.load_data(run, tokenizer)
    model = load_model(run.model, run.hardware, path)
    built = time.perf_counter()
    trainer = dpo.build_trainer(run, model, tokenizer, train_ds, None, common_args(run))
    build_s = time.perf_counter() - built

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.times, self.started = [], 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter() - self.started)

    timer = StepTimer()
    trainer.add_callback(timer)
    trainer.train()
    rows = trainer.train_dataset
    tokens = median([min(len(p) + len(c), length) for p, c in zip(rows["prompt_ids"], rows["chosen_ids"])])
    return {"length": length, "batch": batch, "steps": timer.times[WARMUP:], "build_s": build_s,
            "tokens_per_sequence": tokens}


def worker(argv: list) -> None:
    workdir, out, model, points = Path(argv[0]), Path(argv[1]), argv[2], argv[3:]
    results = [time_point(workdir, model, *map(int, p.split(","))) for p in points]
    out.write_text(json.dumps(results))


def run(opts: Options) -> Section:
    from . import sized_model

    lengths, batches = (SMOKE_LENGTHS, SMOKE_BATCHES) if opts.smoke else (LENGTHS, BATCHES)
    model = str(sized_model.model_path("llama-3m"))
    out = opts.workdir / "growth.json"
    points = [f"{L},{B}" for B in batches for L in lengths]
    run_timed([PYTHON, "-m", "bench.growth", str(opts.workdir), str(out), model, *points], job_env(opts),
              timeout=3600)
    results = {(r["length"], r["batch"]): r for r in json.loads(out.read_text())}
    rows = []
    for L in lengths:
        cells = []
        for B in batches:
            r = results[(L, B)]
            step = median(r["steps"])
            tokens = 2 * B * r["tokens_per_sequence"]  # chosen + rejected sequences
            cells.append(f"**{step * 1000:.0f}** ({spread([s * 1000 for s in r['steps']], '{:.0f}')}); "
                         f"{tokens / step / 1000:.1f}k tok/s")
        rows.append([f"{L} (≈{results[(L, batches[0])]['tokens_per_sequence']:.0f})", *cells])
    first, last = results[(lengths[0], batches[0])], results[(lengths[-1], batches[-1])]
    growth = median(last["steps"]) / median(first["steps"])
    work = (lengths[-1] * batches[-1]) / (lengths[0] * batches[0])
    notes = [
        f"Milliseconds per DPO optimizer step, median (min–max) over {STEPS} timed steps after {WARMUP} warm-up "
        "step, and tokens per second (chosen + rejected tokens of the batch / step time). Rows: data.max_length "
        "(≈ tokens per sequence actually reached); columns: per-device batch size (pairs).",
        f"Model: a random-init Llama of {sized_model.parameters(model) / 1e6:.1f}M parameters (hidden 256, 4 layers; "
        "bench/sized_model.py), fp32, fai-rl's DPO defaults (precomputed reference log-probs, so a step is the "
        "policy's forward and backward on chosen and rejected, plus the optimizer). Synthetic pairs fill max_length "
        "(prompt truncated to half of it). One process with all grid points (`python -m bench.growth`), trainers "
        "built by fai-rl's own dpo.build_trainer.",
        f"From the smallest to the largest point the work per step grows {work:.0f}x and the step time "
        f"{growth:.1f}x: small steps are dominated by fixed per-step cost (Python, optimizer over all parameters), "
        "large ones by the model's matrix multiplications, which grow with tokens (batch × length).",
    ]
    headers = ["max_length", *[f"batch {B}" for B in batches]]
    return Section("Growth: DPO step time by sequence length and batch size", table(headers, rows), notes)


if __name__ == "__main__":
    worker(sys.argv[1:])
