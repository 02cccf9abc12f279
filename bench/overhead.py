"""Overhead: the same DPO, GRPO and GSPO job through fai-rl and through the hand-written TRL script (plain_trl.py)."""
from __future__ import annotations

from .common import (
    PLAIN_TRL,
    Options,
    Section,
    alternate,
    fai_rl_argv,
    job_env,
    median,
    read_json,
    run_timed,
    same_metrics,
    spread,
    table,
    verdict,
)

# fai-rl's default job of each algorithm, without eval data (the plain script evaluates nothing either);
# steps: the default job's (DPO 400, GRPO/GSPO 80 from conf/tuned/tiny_vowels_*), or the smoke size.
ALGORITHMS = {"dpo": 400, "grpo": 80, "gspo": 80}
SMOKE_STEPS = {"dpo": 10, "grpo": 4}  # --smoke: GSPO is GRPO's code path with other settings


def fai_rl_job(opts: Options, algorithm: str, steps: int):
    def run(i: int) -> dict:
        job = opts.workdir / f"overhead-{algorithm}-fai-rl-{i}"
        argv = fai_rl_argv(job, [f"algorithm={algorithm}", "data.eval_datasets=[]", f"training.max_steps={steps}"])
        job.mkdir(parents=True)
        _, wall = run_timed(argv, job_env(opts), cwd=job)
        metrics = read_json(job / "run" / "summary.json")["final_metrics"]
        return {"wall": wall, "train": metrics["train_runtime"], "metrics": metrics}
    return run


def plain_job(opts: Options, algorithm: str, steps: int):
    def run(i: int) -> dict:
        job = opts.workdir / f"overhead-{algorithm}-plain-{i}"
        job.mkdir(parents=True)
        out = job / "result.json"
        _, wall = run_timed(PLAIN_TRL + [algorithm, "--out", str(out), "--steps", str(steps)], job_env(opts), cwd=job)
        result = read_json(out)
        return {"wall": wall, "train": result["final_metrics"]["train_runtime"], "metrics": result["final_metrics"]}
    return run


def compare(algorithm: str, steps: int, runs: dict) -> tuple:
    plain, fai = runs["plain"], runs["fai-rl"]
    ratios = [f["train"] / p["train"] for f, p in zip(fai, plain)]
    diffs = [f["wall"] - p["wall"] for f, p in zip(fai, plain)]
    checks = [same_metrics(p["metrics"], f["metrics"]) for p, f in zip(plain, fai)]
    identical = all(ok for ok, _ in checks)
    row = [algorithm.upper(), steps,
           f"{median(p['train'] for p in plain):.2f} ({spread([p['train'] for p in plain])})",
           f"{median(f['train'] for f in fai):.2f} ({spread([f['train'] for f in fai])})",
           f"**{median(ratios):.3f}** ({spread(ratios, '{:.3f}')})",
           f"{median(p['wall'] for p in plain):.2f} ({spread([p['wall'] for p in plain])})",
           f"{median(f['wall'] for f in fai):.2f} ({spread([f['wall'] for f in fai])})",
           f"**{median(diffs):+.2f}** ({spread(diffs, '{:+.2f}')})",
           ("yes, " if identical else "**NO**, ") + next((d for ok, d in checks if not ok), checks[0][1])]
    return row, median(ratios), median(diffs), identical


def run(opts: Options) -> Section:
    rows, headline = [], []
    # twice the other sections' repeats: one job's time varies by ~10% between runs on these machines, the target
    # is 3%, and 5 pairs left the median ratio 4% off 1.0 on one algorithm where 10 pairs gave 1.00
    repeats = 1 if opts.smoke else 2 * opts.repeats
    for algorithm, steps in (SMOKE_STEPS if opts.smoke else ALGORITHMS).items():
        runs = alternate({"plain": plain_job(opts, algorithm, steps), "fai-rl": fai_rl_job(opts, algorithm, steps)},
                         repeats)
        row, ratio, diff, identical = compare(algorithm, steps, runs)
        rows.append(row)
        name = algorithm.upper()
        headline += [[f"{name} training time, fai-rl / plain TRL", f"{ratio:.3f}", "<= 1.03", verdict(ratio <= 1.03)],
                     [f"{name} whole process, fai-rl − plain TRL", f"{diff:+.2f} s", "<= 1 s", verdict(diff <= 1.0)],
                     [f"{name} final metrics, fai-rl vs plain TRL", "identical" if identical else "differ",
                      "identical", verdict(identical)]]
    headers = ["job", "steps", "plain TRL train s", "fai-rl train s", "train ratio fai-rl/plain",
               "plain wall s", "fai-rl wall s", "wall diff s (fai-rl − plain)", "same final metrics"]
    notes = [
        f"{repeats} repeats per side, alternating plain and fai-rl (A B, B A, ...); median, (min–max) over repeats. "
        "Ratio and difference are medians of the per-pair values.",
        "Job: fai-rl's default job of each algorithm on the built-in tiny model (DPO on tiny_prefs; GRPO/GSPO on "
        "tiny_vowels with the letter_share reward and conf/tuned settings), seed 42, without eval data. fai-rl: "
        "`python -m fai_rl algorithm=<a> data.eval_datasets=[] training.max_steps=<n>`; plain: "
        "`python bench/plain_trl.py <a> --steps <n>` (TRL trainer built by hand with the same hyperparameters).",
        "train s: TRL's own `train_runtime` (trainer.train(), both sides). wall s: the whole process, start to exit "
        "(imports, data, model, training, saving; fai-rl also composes the config, writes the run dir, summary, "
        "model card and training-curve plot). Each job gets a fresh datasets cache.",
        "Same final metrics: every training metric both sides logged last (loss, rewards, logps, grad_norm, ...; "
        "timings excluded), compared for exact equality in every repeat.",
    ]
    return Section("Overhead: fai-rl vs a plain TRL script", table(headers, rows), notes, headline)
