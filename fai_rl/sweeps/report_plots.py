"""The sweep's PNGs: the objective against each swept parameter, and every job's training curves overlaid."""
from __future__ import annotations

import math
from pathlib import Path

from fai_rl.tracking.plots import draw_curves


def as_number(text: str):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def short_value(text: str) -> str:
    number = as_number(text)
    return f"{number:.4g}" if number is not None and len(text) > 8 else text


def job_label(job, params: list) -> str:
    return f"#{job.num} " + " ".join(f"{k.rsplit('.', 1)[-1]}={short_value(job.overrides.get(k, ''))}" for k in params)


def _scatter(ax, jobs: list, param: str | None, best) -> None:
    """Objective of the scored jobs against one parameter (job number when there is none)."""
    ax.set_xlabel(param or "job")
    ax.grid(alpha=0.3)
    if not jobs:
        ax.text(0.5, 0.5, "no job has a result yet", ha="center", va="center", transform=ax.transAxes)
        return
    values = [job.num if param is None else job.overrides.get(param, "") for job in jobs]
    numbers = [v if param is None else as_number(v) for v in values]
    if all(n is not None for n in numbers):
        xs = numbers
        if param and min(xs) > 0 and max(xs) / min(xs) >= 20:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter("")  # label the decades only: minor labels (2x10^-5, 3x10^-5, ...) overlap
        else:
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    else:  # categorical values: one position each, in first-seen order
        categories = list(dict.fromkeys(values))
        xs = [categories.index(v) for v in values]
        ax.set_xticks(range(len(categories)), [str(c) for c in categories], rotation=30)
    ys = [job.objective for job in jobs]
    ax.scatter(xs, ys, color="C0", zorder=2)
    if best is not None and best in jobs:
        i = jobs.index(best)
        ax.scatter([xs[i]], [ys[i]], marker="*", s=260, color="C3", zorder=3, label=f"best: job {best.num}")
        ax.legend(fontsize=8)


def plot_objective(jobs: list, params: list, metric: str, direction: str, best, path: Path) -> Path:
    from matplotlib.figure import Figure  # ~0.3 s: loaded only to draw (the sweep callback imports this module)

    scored = [j for j in jobs if j.objective is not None]
    panels = params or [None]
    fig = Figure(figsize=(4.8 * len(panels), 4), layout="constrained")
    left_out = len(jobs) - len(scored)
    fig.suptitle(f"{metric} ({direction})" + (f"; {left_out} job(s) without a result not shown" if left_out else ""))
    for ax, param in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        _scatter(ax, scored, param, best)
        ax.set_ylabel(metric)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def plot_overlaid_curves(jobs: list, params: list, best, path: Path, title: str) -> Path:
    histories = {job_label(job, params): job.metrics() for job in jobs}
    return draw_curves(histories, path, title, highlight=job_label(best, params) if best else None)
