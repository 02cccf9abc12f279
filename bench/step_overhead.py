"""Per-step overhead: the host time fai-rl's own callbacks add to each optimizer step, measured inside the run.

The end-to-end comparison with plain TRL (the overhead section) cannot resolve a millisecond in a job whose steps
take tens of milliseconds and vary by 10%; this section times every callback event of fai-rl's default jobs
(bench/step_timer.py) and reports fai-rl's share per optimizer step. On CPU every host-device sync is free, so the
figure is the Python work itself; on a GPU fai-rl's callbacks read no device value per step (the NaN guard reads its
flag only when a step is logged, evaluated or saved), so it is the same work.
"""
from __future__ import annotations

import sys

from .common import Options, Section, fai_rl_argv, job_env, read_json, run_timed, table, verdict

JOBS = {"dpo": 200, "grpo": 40}
SMOKE_STEPS = {"dpo": 10, "grpo": 4}
TARGET_MS = 1.0


def measure(opts: Options, algorithm: str, steps: int) -> dict:
    job = opts.workdir / f"step-overhead-{algorithm}"
    job.mkdir(parents=True)
    argv = fai_rl_argv(job, [f"algorithm={algorithm}", "data.eval_datasets=[]", f"training.max_steps={steps}"])
    out = job / "callbacks.json"
    run_timed([sys.executable, "-m", "bench.step_timer", str(out), *argv[3:]], job_env(opts), cwd=job)
    return read_json(out)


def run(opts: Options) -> Section:
    rows, headline = [], []
    for algorithm, steps in JOBS.items():
        steps = SMOKE_STEPS[algorithm] if opts.smoke else steps
        timed = measure(opts, algorithm, steps)
        n = max(timed["optimizer_steps"], 1)
        ours = {name: r for name, r in timed["callbacks"].items() if r["module"].startswith("fai_rl")}
        others = sum(r["seconds"] for name, r in timed["callbacks"].items() if name not in ours)
        total_ms = 1000 * sum(r["seconds"] for r in ours.values()) / n
        busiest = sorted(ours.items(), key=lambda item: -item[1]["seconds"])[:3]
        rows.append([algorithm.upper(), n, f"**{total_ms:.3f}**",
                     ", ".join(f"{name} {1000 * r['seconds'] / n:.3f}" for name, r in busiest),
                     f"{1000 * others / n:.3f}"])
        headline.append([f"{algorithm.upper()} per-step host overhead of fai-rl's callbacks", f"{total_ms:.3f} ms",
                         f"< {TARGET_MS:g} ms", verdict(total_ms < TARGET_MS)])
    headers = ["job", "optimizer steps", "fai-rl callbacks, ms per step", "the busiest (ms per step)",
               "transformers' and TRL's callbacks, ms per step"]
    notes = [
        "Job: fai-rl's default job of each algorithm on the built-in tiny model without eval data (`python -m "
        "bench.step_timer OUT.json algorithm=<a> data.eval_datasets=[] training.max_steps=<n>`: fai-rl's CLI with "
        "each callback of transformers' CallbackHandler behind a timing proxy).",
        "fai-rl callbacks: every callback class from the fai_rl package (metrics log, NaN guard, stop signals, "
        "watchdog, plots, trackers, ...), all their events (step, log, save, train begin/end) divided by the "
        "optimizer steps. What fai-rl changes beyond callbacks: transformers' per-step NaN filter is off "
        "(`logging_nan_inf_filter=False`), DDP searches for unused parameters only for mixture-of-experts models.",
    ]
    return Section("Per-step overhead: fai-rl's callbacks in each optimizer step", table(headers, rows), notes,
                   headline)
