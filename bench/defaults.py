"""Faster defaults: options that speed DPO, GRPO and SFT up, each against TRL's defaults on the same job, with the
result they reach (eval metric over several seeds) so that "faster without changing what is learned" is measured."""
from __future__ import annotations

from dataclasses import dataclass, field

from .common import PLAIN_TRL, Options, Section, alternate, job_env, median, read_json, run_timed, spread, table

SEEDS = [42, 43, 44]


@dataclass
class Variant:
    label: str
    args: list
    fai_rl_default: str  # whether (and where) fai-rl makes it its default, or why not
    env: dict = field(default_factory=dict)
    smoke: bool = False  # also run in --smoke (the baseline and fai-rl's path)


TRL = ["--trl-defaults"]
DPO_VARIANTS = [
    Variant("TRL defaults: bf16, gradient checkpointing, reference forward every step", TRL, "—", smoke=True),
    Variant("+ precompute_ref_log_probs=True", TRL + ["--set", "precompute_ref_log_probs=true"],
            "yes: conf/algorithm/dpo.yaml"),
    Variant("+ gradient_checkpointing=False", TRL + ["--set", "gradient_checkpointing=false"],
            "yes: training.gradient_checkpointing=false"),
    Variant("+ bf16=False (fp32 on CPU)", TRL + ["--set", "bf16=false"], "yes: hardware=cpu is fp32"),
    Variant("TRL defaults but optim=adamw_torch (not fused)", TRL + ["--set", "optim=adamw_torch"],
            "no: TRL's default, adamw_torch_fused, is fai-rl's too"),
    Variant("fai-rl's default path: all three", [], "the default", smoke=True),
    Variant("fai-rl's default path, 1 torch thread (OMP_NUM_THREADS=1)", [], "no: a machine setting (see note)",
            env={"OMP_NUM_THREADS": 1}),
]
GRPO_VARIANTS = [
    Variant("TRL defaults: bf16, gradient checkpointing, one generation batch per step", TRL, "—", smoke=True),
    Variant("+ gradient_checkpointing=False", TRL + ["--set", "gradient_checkpointing=false"],
            "yes: training.gradient_checkpointing=false"),
    Variant("+ bf16=False (fp32 on CPU)", TRL + ["--set", "bf16=false"], "yes: hardware=cpu is fp32"),
    Variant("+ steps_per_generation=4 (generate 4 steps' completions at once)",
            TRL + ["--set", "steps_per_generation=4"], "no for GRPO: lower reward (3 of 4 steps off-policy); "
            "GSPO's recipe uses 4"),
    Variant("TRL defaults but optim=adamw_torch (not fused)", TRL + ["--set", "optim=adamw_torch"],
            "no: TRL's default, adamw_torch_fused, is fai-rl's too"),
    Variant("fai-rl's default path: fp32, no gradient checkpointing", [], "the default", smoke=True),
]
SFT_VARIANTS = [
    Variant("TRL defaults: bf16, gradient checkpointing, one padded row per example", TRL, "—", smoke=True),
    Variant("+ packing=True (best-fit, padding-free)", TRL + ["--set", "packing=true"],
            "yes: conf/algorithm/sft.yaml"),
    Variant("fai-rl's default path: fp32, no gradient checkpointing, packing", [], "the default", smoke=True),
]
JOBS = {  # algorithm: (variants, steps, smoke steps, eval metric, metric resolution)
    "dpo": (DPO_VARIANTS, 400, 10, "eval_rewards/accuracies", 1 / 40),  # 40 eval pairs: one pair = 0.025
    "grpo": (GRPO_VARIANTS, 80, 4, "eval_reward", 0.01),
    "sft": (SFT_VARIANTS, 200, 6, "eval_loss", 0.01),  # lower is better: packing may only match or beat it
}
TARGETS = {"dpo": (1.25, "samples/s >= 1.25x, same eval accuracy"), "grpo": (1.0, "samples/s faster, same eval reward"),
           "sft": (1.3, "tokens/s >= 1.3x, eval loss no worse")}


def variant_job(opts: Options, algorithm: str, variant: Variant, steps: int, index: int):
    def run(i: int) -> dict:
        seed = SEEDS[i % len(SEEDS)]
        job = opts.workdir / f"defaults-{algorithm}-{index}-{seed}"
        job.mkdir(parents=True)
        out = job / "result.json"
        env = job_env(opts, **variant.env)
        run_timed(PLAIN_TRL + [algorithm, "--out", str(out), "--steps", str(steps), "--seed", str(seed), "--eval",
                               *variant.args], env, cwd=job)
        result = read_json(out)
        seconds = result["build_s"] + result["train_s"]
        # SFT: tokens, because packing puts several examples in one row (TRL's num_tokens: the rows' real tokens)
        done = result["final_metrics"]["num_tokens"] if algorithm == "sft" else result["samples"]
        return {"samples_per_s": done / seconds, "metric": result["eval"][JOBS[algorithm][3]],
                "effective": result["effective"]}
    return run


def same_result(base: list, other: list, resolution: float, lower_is_better: bool = False) -> bool:
    """Medians within the seed-to-seed spread (the larger range of the two) or one eval example of each other; a
    loss may also be lower by any amount."""
    allowed = max(max(base) - min(base), max(other) - min(other), resolution)
    if lower_is_better:
        return median(other) - median(base) <= allowed + 1e-9
    return abs(median(other) - median(base)) <= allowed + 1e-9


def algorithm_rows(opts: Options, algorithm: str) -> tuple:
    variants, steps, smoke_steps, metric, resolution = JOBS[algorithm]
    if opts.smoke:
        variants, steps = [v for v in variants if v.smoke], smoke_steps
    if opts.threads:  # every job already runs with the given thread count
        variants = [v for v in variants if "OMP_NUM_THREADS" not in v.env]
    repeats = 1 if opts.smoke else len(SEEDS)
    runs = alternate({v.label: variant_job(opts, algorithm, v, steps, k) for k, v in enumerate(variants)}, repeats)
    base = runs[variants[0].label]
    rows, ratios = [], {}
    for v in variants:
        mine = runs[v.label]
        ratio = [m["samples_per_s"] / b["samples_per_s"] for m, b in zip(mine, base)]
        values = [m["metric"] for m in mine]
        same = same_result([b["metric"] for b in base], values, resolution, metric.endswith("loss"))
        ratios[v.label] = (median(ratio), same)
        rows.append([algorithm.upper(), v.label, f"{median(m['samples_per_s'] for m in mine):.0f} "
                     f"({spread([m['samples_per_s'] for m in mine], '{:.0f}')})",
                     f"**{median(ratio):.2f}x** ({spread(ratio)})",
                     f"{median(values):.3f} ({', '.join(f'{x:.3f}' for x in values)})",
                     f"{median(values) - median(b['metric'] for b in base):+.3f}", "yes" if same else "**no**",
                     v.fai_rl_default])
    return rows, ratios, variants, steps, metric


def padding_free_note(opts: Options) -> str:
    """Ask TRL for padding-free DPO batches and report what the trainer actually used."""
    job = opts.workdir / "defaults-padding-free"
    job.mkdir(parents=True)
    out = job / "result.json"
    run_timed(PLAIN_TRL + ["dpo", "--out", str(out), "--steps", "2", "--set", "padding_free=true"], job_env(opts),
              cwd=job)
    used = read_json(out)["effective"]["padding_free_used"]
    return (f"DPO padding_free=True: not measurable with trl 1.16 — DPOConfig documents it as temporarily "
            f"unavailable and DPOTrainer warns and falls back to padded batches (checked in this run: the trainer's "
            f"padding_free is {used}). It would also need FlashAttention, which these CPU machines lack. Packing is "
            "SFT-only in TRL.")


def run(opts: Options) -> Section:
    rows, headline, notes = [], [], []
    for algorithm in JOBS:
        algo_rows, ratios, variants, steps, metric = algorithm_rows(opts, algorithm)
        rows += algo_rows
        default = next(v.label for v in variants if v.fai_rl_default == "the default")
        ratio, same = ratios[default]
        least, target = TARGETS[algorithm]
        met = (ratio >= least if least > 1 else ratio > least) and same
        unit = "tokens/s" if algorithm == "sft" else "samples/s"
        headline.append([f"{algorithm.upper()} default path vs TRL's defaults, {unit}", f"{ratio:.2f}x, "
                         f"{metric} {'within' if same else 'OUTSIDE'} the seed spread", target,
                         "yes" if met else "**no**"])
        seeds = ", ".join(map(str, SEEDS[:1 if opts.smoke else len(SEEDS)]))
        notes.append(f"{algorithm.upper()}: {steps} steps of fai-rl's default {algorithm.upper()} job through "
                     f"bench/plain_trl.py, each variant with seeds {seeds} (alternating variants); eval metric "
                     f"`{metric}` on the held-out split after training.")
    headers = ["job", "variant", "samples/s (SFT: tokens/s)", "vs TRL defaults", "eval metric (per seed)", "Δ metric",
               "same result", "fai-rl's default?"]
    notes += [
        "samples/s: training samples (steps × batch; GRPO: completions) divided by trainer construction + "
        "trainer.train() — construction counts because precomputed reference log-probs are computed there. "
        "Ratios are medians of per-seed ratios against the TRL-defaults job of the same seed.",
        "Same result: the variant's median eval metric is within the seed-to-seed range (max−min over the seeds, "
        "the larger of the two variants') of TRL's defaults, or within the metric's resolution (DPO: one of 40 eval "
        "pairs, 0.025; GRPO: 0.01 of reward).",
        "Each option is measured alone on top of TRL's defaults, then all of fai-rl's together (its default path: "
        "`fai-rl` as shipped, which the overhead section shows is the same job as the plain script with these "
        "settings).",
        "Thread count is a machine setting, not fai-rl's: torch runs one thread per core. The 1-thread row shows "
        "what the second thread buys a tiny model on an idle machine; when other processes compete for the 2 "
        "cores, 2-thread torch slowed by an order of magnitude while this bench was written (30 DPO steps: 0.7 s "
        "with OMP_NUM_THREADS=1, 45 s with 2). Set OMP_NUM_THREADS=1 on a busy or shared CPU machine.",
    ]
    if not opts.smoke:
        notes.append(padding_free_note(opts))
    return Section("Faster defaults: fai-rl's choices vs TRL's defaults", table(headers, rows), notes, headline)
