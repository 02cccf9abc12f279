"""Memory: fai-rl's per-rank estimate (printed at launch, before the model loads) against the peak RSS each rank
reaches, for 1 process, DDP, ZeRO-2 and ZeRO-3 on the ~26M-parameter Llama, DPO and GRPO."""
from __future__ import annotations

import re

from fai_rl.launch.memory import CPU_RUNTIME

from . import sized_model
from .common import Options, Section, table, verdict
from .growth import synthetic_pairs
from .scaling import MB, measure

HARDWARE = ["cpu", "cpu2_ddp", "cpu2_zero2", "cpu2_zero3"]
SMOKE_HARDWARE = ["cpu"]
TOLERANCE = 0.25
ESTIMATE = re.compile(r"memory per rank ≈ ([\d.]+) GiB on \w+ \(([^)]*) GiB\)")


def algorithms(opts: Options) -> dict:
    """The run arguments of each algorithm: sequences that fill data.max_length, so the estimate's full-length
    activations are what the run computes; GRPO with beta > 0, so a reference model is held."""
    rows = 16 if opts.smoke else 64  # smoke: the flow (one step of batch 8), not the peak over a whole run
    pairs = synthetic_pairs(opts.workdir / "memory-pairs.jsonl", rows, 48, 24)
    return {
        "dpo": [f"data.datasets=[{{name: '{pairs}'}}]", "data.max_length=64", "data.max_prompt_length=40"],
        "grpo": ["algorithm=grpo", "algorithm.beta=0.04", "algorithm.max_completion_length=32",
                 "data.max_length=64", "data.max_prompt_length=32",
                 f"data.datasets=[{{name: 'builtin:tiny_vowels', split: train, max_samples: {rows}}}]"],
    }


def estimated(output: str) -> tuple:
    """(total GiB, 'weights 0.10, ...') from the line fai-rl printed."""
    found = ESTIMATE.search(output)
    if not found:
        raise RuntimeError("fai-rl printed no memory estimate:\n" + output[-2000:])
    return float(found.group(1)) * 2 ** 30, found.group(2)


def run(opts: Options) -> Section:
    hardware = SMOKE_HARDWARE if opts.smoke else HARDWARE
    steps = 1 if opts.smoke else 4
    big = str(sized_model.model_path("llama-26m"))
    rows, ratios = [], []
    for name, args in algorithms(opts).items():
        for hw in hardware:
            result = measure(opts, hw, big, steps, f"memory-{name}", ["training.per_device_train_batch_size=8", *args])
            total, parts = estimated(result["output"])
            peaks = result["whole"]
            worst = max((total / peaks[r] for r in peaks), key=lambda x: abs(x - 1))
            beyond = max(((total - CPU_RUNTIME) / (peaks[r] - CPU_RUNTIME) for r in peaks), key=lambda x: abs(x - 1))
            ratios.append(worst)
            rows.append([hw, name, f"**{total / MB:.0f}** ({parts} GiB)", " / ".join(
                f"{peaks[r] / MB:.0f}" for r in sorted(peaks)), " / ".join(
                f"{result['training'][r] / MB:.0f}" for r in sorted(peaks)), f"{worst:.2f}",
                verdict(abs(worst - 1) <= TOLERANCE), f"{beyond:.2f}"])
    headers = ["hardware", "algorithm", "estimate per rank, MB (parts)", "peak RSS per rank, MB (whole run)",
               "peak RSS while training, MB", "estimate / peak (worse rank)", f"within ±{TOLERANCE:.0%}",
               "the same beyond the runtime constant"]
    notes = [
        f"Model: the random-init Llama of {sized_model.parameters(big) / 1e6:.1f}M parameters (bench/sized_model.py), "
        f"fp32, batch 8 per process, {steps} steps. DPO: synthetic pairs longer than data.max_length=64 (every "
        "sequence is cut to 64 tokens), reference log-probs precomputed (fai-rl's default: no reference model). "
        "GRPO: tiny_vowels prompts, 8 completions of up to 32 tokens, algorithm.beta=0.04 (a reference model).",
        "estimate: the line `fai-rl: memory per rank ≈ ...` the run printed before loading anything "
        "(fai_rl/launch/memory.py; formula in docs/scaling.md); runtime is a constant 0.55 GiB per process for "
        "Python and the imported libraries, taken from the tiny-model runs of the scaling section (552–603 MB).",
        "peak RSS: each training process's resident set, polled every 50 ms (psutil) with "
        "MALLOC_MMAP_THRESHOLD_=131072 as in the scaling section; ranks separated by /.",
        "the same beyond the runtime constant: (estimate − 0.55 GiB) / (peak − 0.55 GiB), the model-dependent "
        "part alone (weights, gradients, optimizer, reference, activations), which the ±25% of the total dilutes.",
        "The estimate bounds activations by full-length sequences; with data shorter than data.max_length (batches "
        "pad to their longest) it is above the measured peak by that difference.",
    ]
    met = all(abs(r - 1) <= TOLERANCE for r in ratios)
    spread_text = f"{min(ratios):.2f}–{max(ratios):.2f}"
    headline = [["memory estimate / measured peak RSS per rank (1 process, DDP, ZeRO-2, ZeRO-3; DPO, GRPO)",
                 spread_text, f"within ±{TOLERANCE:.0%}", verdict(met)]]
    return Section("Memory: estimate against peak RSS per rank", table(headers, rows), notes, headline)
