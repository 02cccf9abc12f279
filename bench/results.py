"""bench/RESULTS.md, rendered from results.json beside it: a run of some sections replaces those and keeps the rest."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from .common import Options, machine, table

INTRO = """# fai-rl benchmarks

Measured by `make bench` (all sections, about 25 minutes on 2 cores) or `make bench ARGS="--only <section>"`
(sections: overhead, responsiveness, defaults, scaling, growth, dynamic_sampling, memory; `--repeats N`,
`--threads N`, `--smoke`).
Every figure is a median over repeated runs, with its spread (min–max over the repeats) in brackets; every
comparison is measured in the same run, alternating the compared jobs, because these machines are noisy. The
scripts are in `bench/`; `bench/plain_trl.py` is the hand-written TRL script fai-rl is compared with.
"""


def render(data: dict) -> str:
    parts = [INTRO]
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
    order = ["overhead", "responsiveness", "defaults", "scaling", "growth", "dynamic_sampling", "memory"]
    data["sections"] = {k: data["sections"][k] for k in sorted(data["sections"], key=order.index)}
    out.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(data, indent=1) + "\n")
    out.write_text(render(data))
