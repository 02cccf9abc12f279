"""Hydra callback (hydra.callbacks in conf/train.yaml): at the end of a sweep, write its report and list failures.

Runs in the process that started the sweep, whichever launcher ran the jobs. When some jobs did not complete it
ends that process with exit code 1, after the report (their error is in their summary.json; the other jobs'
results stay). Hydra lets SystemExit from a callback through; other exceptions it would only warn about.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hydra.experimental.callback import Callback

from fai_rl.errors import ConfigError
from fai_rl.sweeps import report, results
from fai_rl.sweeps.sweep_job import shorten


class SweepReport(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            jobs = results.read_sweep(sweep_dir)
        except ConfigError as err:
            print(f"fai-rl: no report for {sweep_dir}: {err}", file=sys.stderr, flush=True)
            return
        if not any(j.summary for j in jobs):  # not a training sweep (e.g. fai-rl-eval -m), or nothing ended
            return
        failed_jobs = [j for j in jobs if j.status != "completed"]
        print("\n" + report.describe(report.build(sweep_dir)), flush=True)
        for job in failed_jobs:
            error = shorten(job.summary.get("error", "no summary.json: the job did not finish"))
            print(f"fai-rl: job #{job.num} {job.status}: {error} ({job.dir})", file=sys.stderr, flush=True)
        if failed_jobs:
            print(f"fai-rl: {len(failed_jobs)} of {len(jobs)} jobs did not complete; the others' results "
                  f"are kept in {sweep_dir}", file=sys.stderr, flush=True)
            if not any(j.status == "stopped" for j in failed_jobs):  # a pre-empted sweep keeps its own exit code
                raise SystemExit(1)
