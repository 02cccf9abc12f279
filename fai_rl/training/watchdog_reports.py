"""What the training watchdog leaves in <run_dir>/watchdog/ when no step completes in training.watchdog_s (per rank:
a one-line report and the stacks of its threads), and the one error the front process makes of the reports.

Light (standard library only): the front process reads the reports; fai_rl.training.watchdog writes them.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from fai_rl.config.run_files import RunFiles


def report_dir(run_dir) -> Path:
    return RunFiles(Path(run_dir)).watchdog


def stacks_path(run_dir, rank: int) -> Path:
    return report_dir(run_dir) / f"rank-{rank}-stacks.txt"


def write_report(run_dir, report: dict) -> None:
    """<run_dir>/watchdog/rank-R.json, written atomically (a reader never sees half of it)."""
    folder = report_dir(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".rank-{report['rank']}.json.tmp"
    tmp.write_text(json.dumps(report))
    os.replace(tmp, folder / f"rank-{report['rank']}.json")


def read_reports(run_dir) -> list:
    """The reports written so far, by rank."""
    folder = report_dir(run_dir)
    found = [json.loads(p.read_text()) for p in folder.glob("rank-*.json")] if folder.is_dir() else []
    return sorted(found, key=lambda r: r["rank"])


def clear_reports(run_dir) -> None:
    """Before a launch: no report of an earlier attempt in the same run dir may be taken for this one's."""
    shutil.rmtree(report_dir(run_dir), ignore_errors=True)


def _ranks(reports: list) -> str:
    return "; ".join(f"rank {r['rank']} at {r['where']}" for r in reports)


def stuck_message(reports: list, world_size: int, run_dir) -> str:
    """One line: which rank(s) hang and where; the ranks waiting for them in a collective are their consequence."""
    first = reports[0]
    head = (f"watchdog: no training step completed in {first['watchdog_s']:g} s (training.watchdog_s) after step "
            f"{first['last_step']}")
    stuck = [r for r in reports if not r["waiting_in_collective"]]
    waiting = [r for r in reports if r["waiting_in_collective"]]
    if stuck:
        text = f"{head}: stuck: {_ranks(stuck)}"
        if waiting:
            text += f"; waiting for it in a collective: {_ranks(waiting)}"
    else:
        text = f"{head}: every rank waits in a collective (a communication hang?): {_ranks(waiting)}"
    silent = sorted(set(range(world_size)) - {r["rank"] for r in reports})
    if silent and world_size > 1:
        text += f"; no report from rank(s) {', '.join(map(str, silent))} (another node?)"
    return f"{text}; the stacks of every thread: {report_dir(run_dir)}/rank-R-stacks.txt and the run log"
