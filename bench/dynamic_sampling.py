"""Dynamic sampling: GRPO with and without algorithm.dynamic_sampling on the bundled tasks, several seeds, side by
side; eval reward gained per training second and the final eval reward decide where it becomes the default."""
from __future__ import annotations

from .common import (
    Options,
    Section,
    alternate,
    fai_rl_argv,
    job_env,
    median,
    read_json,
    run_timed,
    spread,
    table,
    verdict,
)

SEEDS = [42, 43, 44]
TASKS = {"tiny_vowels": 0.01, "tiny_math": 0.01}  # data=<task> (with its conf/tuned settings): eval_reward resolution
VARIANTS = {"off": ["algorithm.dynamic_sampling.enabled=false"], "on": ["algorithm.dynamic_sampling.enabled=true"]}
SMOKE_TASKS, SMOKE_STEPS = ["tiny_vowels"], 2
MARGIN = 0.25  # a win must beat timing noise: identical trainings (nothing dropped) differed by 5-12% per second


def shipped_default(task: str) -> bool:
    """Whether `fai-rl algorithm=grpo data=<task>` (its conf/tuned settings) turns dynamic sampling on."""
    from fai_rl.cli.compose import compose  # light (no torch): the shipped config, as a user's run composes it

    return bool(compose(["algorithm=grpo", f"data={task}"]).algorithm.dynamic_sampling.enabled)


def variant_job(opts: Options, task: str, variant: str):
    def run(i: int) -> dict:
        seed = SEEDS[i % len(SEEDS)]
        job = opts.workdir / f"dynamic-sampling-{task}-{variant}-{seed}"
        job.mkdir(parents=True)
        # smoke: a few steps, evaluated on 8 prompts (the figures are the full run's job, the flow is the smoke's)
        steps = [f"training.max_steps={SMOKE_STEPS}", "+data.eval_datasets.0.max_samples=8"] if opts.smoke else []
        run_timed(fai_rl_argv(job, ["algorithm=grpo", f"data={task}", f"training.seed={seed}", *VARIANTS[variant],
                                    *steps]), job_env(opts), cwd=job)
        summary = read_json(job / "run" / "summary.json")
        before, after = summary["eval_before"]["eval_reward"], summary["eval_after"]["eval_reward"]
        seconds = summary["train_runtime_s"]
        return {"after": after, "gain_per_s": (after - before) / seconds, "seconds": seconds,
                "dropped": summary["final_metrics"].get("dynamic_sampling/dropped_share"), "steps": summary["steps"]}
    return run


def task_rows(opts: Options, task: str) -> tuple:
    repeats = 1 if opts.smoke else len(SEEDS)
    runs = alternate({v: variant_job(opts, task, v) for v in VARIANTS}, repeats)
    off, on = runs["off"], runs["on"]
    allowed = max(max(r["after"] for r in off) - min(r["after"] for r in off), TASKS[task])
    equal_or_better = median(r["after"] for r in on) >= median(r["after"] for r in off) - allowed - 1e-9
    faster = median(r["gain_per_s"] for r in on) > (1 + MARGIN) * median(r["gain_per_s"] for r in off)
    rows = []
    for name, results in runs.items():
        seconds, finals, rates = ([r[k] for r in results] for k in ("seconds", "after", "gain_per_s"))
        dropped = [r["dropped"] for r in results if r["dropped"] is not None]
        rows.append([task, name, results[0]["steps"], f"{median(seconds):.1f} ({spread(seconds)})",
                     f"{median(finals):.3f} ({', '.join(f'{x:.3f}' for x in finals)})",
                     f"**{median(rates):+.4f}** ({spread(rates, '{:+.4f}')})",
                     f"{median(dropped):.2f}" if dropped else "—"])
    gain_on = median(r["gain_per_s"] for r in on)
    wins = faster and equal_or_better and gain_on > 0
    shipped = shipped_default(task)
    headline = [f"dynamic sampling on {task}: eval reward gained per training second, on vs off",
                f"{gain_on:+.4f} vs {median(r['gain_per_s'] for r in off):+.4f}/s, final "
                f"{median(r['after'] for r in on):.3f} vs {median(r['after'] for r in off):.3f}: "
                f"{'wins' if wins else 'does not win'}",
                "on by default where it wins at equal or better final reward",
                f"{verdict(shipped == wins)} (conf/tuned: {'on' if shipped else 'off'})"]
    return rows, headline


def run(opts: Options) -> Section:
    rows, headline = [], []
    for task in (SMOKE_TASKS if opts.smoke else TASKS):
        more, line = task_rows(opts, task)
        rows += more
        headline.append(line)
    seeds = ", ".join(map(str, SEEDS[:1 if opts.smoke else len(SEEDS)]))
    headers = ["data", "dynamic sampling", "steps", "train s", "final eval_reward (per seed)",
               "eval reward gained per train s", "dropped share (last logged)"]
    notes = [
        f"`python -m fai_rl algorithm=grpo data=<task> training.seed=<seed> algorithm.dynamic_sampling.enabled=<on|off>`"
        f" with the task's conf/tuned settings (same steps both ways), seeds {seeds}, on and off alternating.",
        "Gained per train s: (eval_reward after − eval_reward before) / train_runtime_s, per seed; median and "
        "(min–max). Dynamic sampling spends more generation per optimizer step, so it wins only if the steps it "
        f"takes are worth that much more: it wins when its median is over {MARGIN:.0%} above the median without "
        "(identical trainings, nothing dropped, differed by 5-12% per second in timing alone).",
        "Equal or better final reward: the median with dynamic sampling is no lower than the median without minus "
        "the seed-to-seed range without (or 0.01 of reward).",
    ]
    return Section("Dynamic sampling: drop equal-reward groups and refill", table(headers, rows), notes, headline)
