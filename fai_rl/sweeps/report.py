"""Table, CSV and plots of a Hydra sweep (`fai-rl-report [SWEEP_DIR]`, fai_rl.cli.report; and after every sweep).

Reads every job dir of a multirun (its overrides, summary.json and metrics.jsonl) and writes, under
<sweep dir>/report/: jobs.csv, jobs.md, objective.png (objective against each swept parameter) and
training_curves.png (all jobs' curves overlaid). Works while the sweep runs or after some jobs failed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fai_rl.sweeps import results, table
from fai_rl.sweeps.report_plots import plot_objective, plot_overlaid_curves


@dataclass
class Report:
    sweep_dir: Path
    jobs: list
    rows: list
    text: str  # the markdown printed
    files: dict  # what -> path


def build(sweep_dir: Path, out_dir: Path | None = None, direction: str | None = None) -> Report:
    sweep_dir = Path(sweep_dir)
    jobs = results.read_sweep(sweep_dir)
    metric = results.objective_metric(jobs)
    direction = direction or results.sweep_direction(jobs, metric)
    params = results.varying_keys(jobs)
    rows = table.rows(jobs, direction, metric)
    best = table.best_job(jobs, direction)
    metrics = table.metric_columns(jobs, metric)
    columns = ["best", "job", *params, "status", *metrics, "steps", "train_runtime_s", "error"]
    if not any(r["error"] for r in rows):
        columns.remove("error")
    out = Path(out_dir) if out_dir else sweep_dir / "report"
    counts = {s: sum(j.status == s for j in jobs) for s in dict.fromkeys(j.status for j in jobs)}
    header = [f"sweep {sweep_dir}: {len(jobs)} jobs (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")",
              f"objective: {metric} ({direction})" + (f"; best: job {best.num}" if best else "; no result yet")]
    fixed = table.fixed_overrides(jobs, params)
    if fixed:
        header.append("every job: " + " ".join(fixed))
    text = "\n".join(header) + "\n\n" + table.markdown(rows, columns)
    files = {"csv": table.write_csv(rows, out / "jobs.csv")}
    (out / "jobs.md").write_text(text + "\n")
    files["markdown"] = out / "jobs.md"
    files["objective_png"] = plot_objective(jobs, params, metric or "objective", direction, best,
                                            out / "objective.png")
    files["curves_png"] = plot_overlaid_curves(jobs, params, best, out / "training_curves.png",
                                               f"training curves of {sweep_dir}")
    return Report(sweep_dir, jobs, rows, text, files)


def describe(report: Report) -> str:
    return report.text + "\n\n" + "\n".join(f"{what}: {path}" for what, path in report.files.items())
