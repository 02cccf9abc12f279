"""Responsiveness: how fast the CLI answers when it trains nothing (--cfg job, --help, a config error)."""
from __future__ import annotations

from .common import FAI_RL, PYTHON, Options, Section, alternate, job_env, median, run_timed, spread, table, verdict

TARGET_S = 0.5
COMMANDS = {  # name: (argv, expected exit code)
    "`fai-rl --cfg job`": (FAI_RL + ["--cfg", "job"], 0),
    "`fai-rl --help`": (FAI_RL + ["--help"], 0),
    "config error (`fai-rl algorithm.beta=-1`)": (FAI_RL + ["algorithm.beta=-1"], 2),
    "config error (`fai-rl training.lr=1`, unknown key)": (FAI_RL + ["training.lr=1"], 2),
    "baseline: `python -c 'import hydra'`": ([PYTHON, "-c", "import hydra, omegaconf"], 0),
}


def timed(opts: Options, argv: list, expected: int):
    env = job_env(opts)
    return lambda i: run_timed(argv, env, cwd=opts.workdir, timeout=60, expected=expected)[1]


def run(opts: Options) -> Section:
    repeats = 1 if opts.smoke else max(opts.repeats, 7)
    times = alternate({name: timed(opts, argv, code) for name, (argv, code) in COMMANDS.items()}, repeats)
    rows, headline = [], []
    for name, values in times.items():
        met = median(values) < TARGET_S
        baseline = name.startswith("baseline")
        rows.append([name, f"**{median(values):.3f}**", spread(values, "{:.3f}"), "" if baseline else verdict(met)])
        if not baseline:
            headline.append([f"responsiveness: {name}", f"{median(values):.2f} s", f"< {TARGET_S} s", verdict(met)])
    notes = [
        f"Seconds from starting the process to its exit, {repeats} runs of each command interleaved; median and "
        "(min–max). `fai-rl` here is `python -m fai_rl` from this checkout (the installed console script runs the "
        "same code). A config error must exit with code 2 and one `fai-rl: error:` line; each run checks the code.",
        "The compose/validate path imports no torch/transformers/trl/datasets (tests/test_bad_inputs.py checks it), "
        "so these cost Python + Hydra + fai-rl's config modules.",
    ]
    return Section("Responsiveness: the CLI without training",
                   table(["command", "seconds (median)", "spread", f"< {TARGET_S} s"], rows), notes, headline)
