"""Shared by the bench sections: timed subprocesses, alternating A/B repeats, medians and spreads, markdown."""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
FAI_RL = [PYTHON, "-m", "fai_rl"]
# the sections of `make bench`, in RESULTS.md's order (each is bench/<name>.py with run(opts) -> Section)
SECTIONS = ["overhead", "step_overhead", "responsiveness", "defaults", "scaling", "growth", "dynamic_sampling",
            "memory"]
PLAIN_TRL = [PYTHON, str(REPO / "bench" / "plain_trl.py")]
TIMING_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "step_time"}


@dataclass
class Options:
    """What the command line asked for; every section reads its sizes from here."""
    smoke: bool = False  # tiny settings: 1 repeat, few steps (the test suite's check that the scripts run)
    repeats: int = 5
    threads: int | None = None  # OMP_NUM_THREADS for every job (None: torch's default, one per core)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fai-rl-bench-")))


@dataclass
class Section:
    """One part of RESULTS.md: a title, one markdown table, and notes saying what each number is."""
    title: str
    table: str
    notes: list
    headline: list = field(default_factory=list)  # rows of the summary table: [measure, result, target, met]


def job_env(opts: Options, **extra) -> dict:
    """The environment of every benchmarked process: this checkout first on the path, offline, a fresh datasets cache
    per job (so no job reuses another's cached maps or precomputed log-probs)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), WANDB_MODE="disabled", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", HF_DATASETS_CACHE=tempfile.mkdtemp(dir=opts.workdir, prefix="hf-"))
    if opts.threads:
        env["OMP_NUM_THREADS"] = str(opts.threads)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class JobFailed(RuntimeError):
    pass


def run_timed(argv: list, env: dict, cwd: Path | None = None, timeout: int = 900, expected: int = 0) -> tuple:
    """Run argv to completion; (CompletedProcess, wall seconds). A job that exits other than `expected` raises
    with its last output."""
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    if proc.returncode != expected:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise JobFailed(f"{' '.join(map(str, argv))} exited {proc.returncode}, expected {expected}:\n{tail}")
    return proc, wall


def fai_rl_argv(job_dir: Path, overrides: list) -> list:
    """`python -m fai_rl` with its run dir and model dir inside job_dir, quiet progress."""
    return FAI_RL + [f"hydra.run.dir={job_dir / 'run'}", f"training.output_dir={job_dir / 'model'}",
                     "training.progress_bar=false", *overrides]


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def alternate(jobs: dict, repeats: int) -> dict:
    """Run every job `repeats` times, interleaved and in a rotating order (A B, B A, ...) so drift in the machine's
    speed hits each alike; {name: [result, ...]}."""
    names, results = list(jobs), {name: [] for name in jobs}
    for i in range(repeats):
        order = names[i % len(names):] + names[:i % len(names)]
        if i % 2:
            order.reverse()
        for name in order:
            results[name].append(jobs[name](i))
    return results


def median(values) -> float:
    return statistics.median(values)


def spread(values, fmt: str = "{:.2f}") -> str:
    """min-max over the repeats, as a string."""
    values = list(values)
    if len(values) == 1:
        return "n=1"
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}"


def table(headers: list, rows: list) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "yes" if met else "**no**"


def same_metrics(a: dict, b: dict) -> tuple:
    """(identical?, description) over the training metrics both logged, timings left out."""
    keys = sorted((set(a) & set(b)) - TIMING_KEYS)
    differing = [k for k in keys if a[k] != b[k]]
    if not differing:
        return True, f"identical ({len(keys)} metrics)"
    worst = max(differing, key=lambda k: abs(a[k] - b[k]) / max(abs(a[k]), abs(b[k]), 1e-12))
    return False, f"{len(differing)} of {len(keys)} differ (e.g. {worst}: {a[worst]:.6g} vs {b[worst]:.6g})"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    from importlib.metadata import version

    libs = ["torch", "transformers", "trl", "datasets", "accelerate", "deepspeed", "hydra-core"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "versions": ", ".join(f"{lib} {version(lib)}" for lib in libs),
        "commit": commit.stdout.strip() or "unknown",
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
