"""bench/RESULTS.md, rendered from results.json beside it: a run of some sections replaces those and keeps the rest."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from .common import SECTIONS, Options, machine, table

INTRO = """# fai-rl benchmarks

Measured by `make bench` (all sections, about 25 minutes on 2 cores) or `make bench ARGS="--only <section>"`
(sections: {sections}; `--repeats N`, `--threads N`, `--smoke`). GPU runs (bench/gpu/, one device call each) are
recorded at the end, under the GPU's name.
Every figure is a median over repeated runs, with its spread (min–max over the repeats) in brackets; every
comparison is measured in the same run, alternating the compared jobs, because these machines are noisy. The
scripts are in `bench/`; `bench/plain_trl.py` is the hand-written TRL script fai-rl is compared with.
"""


def render(data: dict) -> str:
    parts = [INTRO.format(sections=", ".join(SECTIONS))]
    rows = [row for s in data["sections"].values() for row in s["headline"]]
    parts.append("## Summary\n\n" + table(["measure", "result", "target", "met"], rows) + "\n")
    for name, s in data["sections"].items():
        m = s["measured"]
        parts.append(f"## {s['title']}\n")
        parts.append(f"Measured {m['date']} with `{m['command']}` on {m['cpus']} × {m['cpu_model']} "
                     f"(load average at the start of the run: {m['load_average_at_start']}); {m['versions']}, "
                     f"Python {m['python']}, commit {m['commit']}; torch threads: {m['threads']}.\n")
        parts.append(s["table"] + "\n")
        parts.append("\n".join(f"- {note}" for note in s["notes"]) + "\n")
    for run in data.get("gpu_runs", []):  # bench/gpu/check.py's tables, added by hand from a device call
        parts.append(f"## On a GPU: {run['gpu']}, {run['date']}\n")
        parts.append(f"Measured with `{run['command']}`; {run['versions']}.\n")
        parts.append(run["table"] + "\n")
        parts.append("\n".join(f"- {note}" for note in run["notes"]) + "\n")
    return "\n".join(parts)


def write_results(out: Path, sections: dict, command: str, opts: Options, seconds: float) -> None:
    """Update results.json beside `out` with these sections, then write `out` from it."""
    store = out.with_name("results.json")
    data = json.loads(store.read_text()) if store.exists() else {"sections": {}}
    measured = dict(machine(), date=time.strftime("%Y-%m-%d %H:%M"), command=command,
                    threads=opts.threads or "torch default (one per core)", run_seconds=round(seconds))
    for name, section in sections.items():
        record = asdict(section)
        record["measured"] = measured
        data["sections"][name] = record
    data["sections"] = {k: data["sections"][k] for k in sorted(data["sections"], key=SECTIONS.index)}
    out.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(data, indent=1) + "\n")
    out.write_text(render(data))
