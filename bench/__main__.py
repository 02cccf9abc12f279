"""`make bench [ARGS="--only overhead,growth --repeats 3 --smoke"]`: run the bench sections, print the summary table,
write bench/RESULTS.md (sections not run this time are kept from the file as it was)."""
from __future__ import annotations

import argparse
import importlib
import shlex
import shutil
import sys
import time
from pathlib import Path

from .common import REPO, SECTIONS, Options, Section, table
from .results import write_results


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    p.add_argument("--smoke", action="store_true", help="tiny settings, 1 repeat: check that the scripts run")
    p.add_argument("--repeats", type=int, default=5, help="repeats per compared job (medians over them)")
    p.add_argument("--threads", type=int, help="OMP_NUM_THREADS for every job (default: torch's, one per core)")
    p.add_argument("--out", type=Path, help="results file (default: bench/RESULTS.md; --smoke: in the work dir)")
    p.add_argument("--keep", action="store_true", help="keep the work dir (runs, models) for inspection")
    args = p.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    for name in ("repeats", "threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if not args.only:
        p.error(f"--only names no section; valid: {', '.join(SECTIONS)}")
    unknown = [s for s in args.only if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; valid: {', '.join(SECTIONS)}")
    return args


def run_section(name: str, opts: Options) -> Section:
    started = time.time()
    try:
        section = importlib.import_module(f"bench.{name}").run(opts)
    except Exception as err:  # noqa: BLE001 - one failing section is reported, the others still run
        section = Section(f"{name}: FAILED", "", [f"{type(err).__name__}: {err}"], [[name, "failed", "", "**no**"]])
        section.failed = True
    section.notes.append(f"Section time: {time.time() - started:.0f} s.")
    print(f"\n## {section.title}\n\n{section.table}\n", flush=True)
    return section


def main(argv=None) -> int:
    args = parse_args(argv)
    opts = Options(smoke=args.smoke, repeats=args.repeats, threads=args.threads)
    out = args.out or (opts.workdir / "RESULTS.md" if args.smoke else REPO / "bench" / "RESULTS.md")
    command = "make bench" + (f' ARGS="{shlex.join(sys.argv[1:])}"' if sys.argv[1:] else "")
    started = time.time()
    sections = {name: run_section(name, opts) for name in args.only}
    summary = table(["measure", "result", "target", "met"],
                    [row for s in sections.values() for row in s.headline])
    write_results(out, sections, command, opts, time.time() - started)
    print(f"\n## Summary\n\n{summary}\n\nwritten to {out}", flush=True)
    if not args.keep:
        shutil.rmtree(opts.workdir, ignore_errors=True)
    return 1 if any(getattr(s, "failed", False) for s in sections.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
