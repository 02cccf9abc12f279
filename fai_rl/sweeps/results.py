"""Read the jobs of a Hydra multirun dir: overrides, status, summary and logged metrics of each.

Works while a sweep runs or after some jobs failed: a job dir without summary.json is `unfinished`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from fai_rl.config.run_files import RunFiles
from fai_rl.errors import ConfigError
from fai_rl.tracking.plots import read_metrics

UNFINISHED = "unfinished"  # no summary.json yet: still running, or killed


@dataclass
class Job:
    num: int
    dir: Path
    overrides: dict  # key -> value as written on the command line, in the order given
    summary: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.summary.get("status", UNFINISHED)

    @property
    def objective(self):
        value = self.summary.get("objective")
        return value if isinstance(value, (int, float)) and math.isfinite(value) else None

    def metric(self, key: str):
        """A final value: after training's evaluation, else the last logged training value."""
        for source in (self.summary.get("eval_after") or {}, self.summary.get("final_metrics") or {}):
            if key in source:
                return source[key]
        return None

    def metrics(self) -> list:
        return read_metrics(RunFiles(self.dir).metrics)

    @property
    def steps(self):
        if "steps" in self.summary:
            return self.summary["steps"]
        logged = [r["step"] for r in self.metrics() if isinstance(r.get("step"), int)]
        return max(logged) if logged else None


def parse_override(text: str) -> tuple:
    key, _, value = text.partition("=")
    return key.lstrip("+~"), value


def read_job(job_dir: Path) -> Job:
    overrides = yaml.safe_load((RunFiles(job_dir).hydra_overrides).read_text()) or []
    summary_file = RunFiles(job_dir).summary
    summary = {}
    if summary_file.exists():
        try:
            summary = json.loads(summary_file.read_text())
        except json.JSONDecodeError:  # written atomically, but be kind to hand-edited files
            summary = {"status": "failed", "error": f"unreadable {summary_file}"}
    return Job(int(job_dir.name), job_dir, dict(parse_override(str(o)) for o in overrides), summary)


def job_dirs(sweep_dir: Path) -> list:
    return sorted((p for p in Path(sweep_dir).iterdir() if p.name.isdigit() and (p / ".hydra").is_dir()),
                  key=lambda p: int(p.name))


def read_sweep(sweep_dir: Path) -> list:
    """Every job of the sweep, by job number."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ConfigError(f"sweep dir {sweep_dir} does not exist")
    dirs = job_dirs(sweep_dir)
    if not dirs:
        inside = [str(p.parent) for p in sorted(sweep_dir.glob("**/0/.hydra"))]
        hint = f"; sweeps inside it: {', '.join(inside[-5:])}" if inside else ""
        raise ConfigError(f"{sweep_dir} holds no job dirs (<n>/.hydra/) of a Hydra multirun{hint}")
    return [read_job(d) for d in dirs]


def latest_sweep(root: Path = Path("multirun")) -> Path:
    """The most recently started sweep under `root` (multirun/<date>/<time>/)."""
    starts = sorted(Path(root).glob("**/0/.hydra"), key=lambda p: p.stat().st_mtime)
    if not starts:
        raise ConfigError(f"no sweep found under {root}/; give the sweep dir, e.g. multirun/<date>/<time>")
    return starts[-1].parent.parent


def sweep_direction(jobs: list, metric: str | None) -> str:
    """maximize/minimize: the sweeper's direction (Optuna) where there is one, else from the metric's name."""
    hydra_yaml = RunFiles(jobs[0].dir).hydra / "hydra.yaml"
    if hydra_yaml.exists():
        sweeper = (yaml.safe_load(hydra_yaml.read_text()) or {}).get("hydra", {}).get("sweeper", {}) or {}
        direction = str(sweeper.get("direction", "")).lower()
        if direction in ("maximize", "minimize"):
            return direction
    return "minimize" if metric and "loss" in metric else "maximize"


def objective_metric(jobs: list) -> str | None:
    names = [j.summary["objective_metric"] for j in jobs if j.summary.get("objective_metric")]
    return max(set(names), key=names.count) if names else None


def override_keys(jobs: list) -> list:
    """Every override key of the sweep, in command-line order."""
    keys: list = []
    for job in jobs:
        keys += [k for k in job.overrides if k not in keys]
    return keys


def varying_keys(jobs: list) -> list:
    """Override keys whose value differs between jobs: the swept parameters."""
    return [k for k in override_keys(jobs) if len({job.overrides.get(k) for job in jobs}) > 1]
