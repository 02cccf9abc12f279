"""The sweep table: one row per job (overrides, status, final metrics), sorted by the objective, best marked."""
from __future__ import annotations

import csv
from pathlib import Path

from fai_rl.sweeps.results import override_keys


def ranked(jobs: list, direction: str) -> list:
    """Jobs with an objective, best first; then the others (failed, unfinished) by job number."""
    scored = sorted((j for j in jobs if j.objective is not None), key=lambda j: j.objective,
                    reverse=direction == "maximize")
    return scored + [j for j in jobs if j.objective is None]


def best_job(jobs: list, direction: str):
    """The job with the best objective, or None while no job has one."""
    order = ranked(jobs, direction)
    return order[0] if order and order[0].objective is not None else None


def metric_columns(jobs: list, objective: str | None) -> list:
    """The objective first, then every headline metric the jobs' algorithms report."""
    columns = [objective] if objective else []
    for job in jobs:
        columns += [k for k in job.summary.get("headline_metrics", []) if k not in columns]
    return columns


def rows(jobs: list, direction: str, objective: str | None) -> list:
    """Plain dicts in ranked order: job, best, every override, status, metrics, steps, runtime, error, dir."""
    best = best_job(jobs, direction)
    keys, metrics, out = override_keys(jobs), metric_columns(jobs, objective), []
    for job in ranked(jobs, direction):
        row = {"job": job.num, "best": job is best}
        row.update({k: job.overrides.get(k, "") for k in keys})
        row["status"] = job.status
        row.update({m: job.objective if m == objective else job.metric(m) for m in metrics})
        row.update(steps=job.steps, train_runtime_s=job.summary.get("train_runtime_s"),
                   error=job.summary.get("error", ""), job_dir=str(job.dir))
        out.append(row)
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "**best**" if value else ""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    if len(text) > 8 and _is_number(text):  # e.g. an Optuna-drawn learning rate
        return f"{float(text):.4g}"
    return text.replace("|", "\\|")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def markdown(table: list, columns: list, error_width: int = 70) -> str:
    """The named columns of the table (`best` shows as an unlabelled marker column)."""
    lines = ["| " + " | ".join("" if c == "best" else c for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in table:
        cells = [_cell(row.get(c)) for c in columns]
        if "error" in columns:
            at = columns.index("error")
            cells[at] = cells[at][:error_width] + ("..." if len(cells[at]) > error_width else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(table: list, path: Path) -> Path:
    """Every column, numbers in full precision."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]) if table else ["job"])
        writer.writeheader()
        for row in table:
            writer.writerow({k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return path


def fixed_overrides(jobs: list, varying: list) -> list:
    """key=value overrides every job shares (left out of the printed table)."""
    first = jobs[0].overrides if jobs else {}
    return [f"{k}={v}" for k, v in first.items() if k not in varying and all(j.overrides.get(k) == v for j in jobs)]
