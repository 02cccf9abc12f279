"""`fai-rl-report [SWEEP_DIR]`: table, CSV and plots of a Hydra sweep (default: the latest under multirun/)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fai_rl.cli.entry import console_script
from fai_rl.sweeps import report, results

PROG = "fai-rl-report"


@console_script(PROG)
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", nargs="?", help="multirun/<date>/<time> (default: the latest sweep)")
    parser.add_argument("--out", help="where to write the files (default: <sweep dir>/report)")
    parser.add_argument("--direction", choices=["maximize", "minimize"],
                        help="how to rank the objective (default: the sweeper's, else from the metric's name)")
    args = parser.parse_args(argv)
    sweep_dir = Path(args.sweep_dir) if args.sweep_dir else results.latest_sweep()
    print(report.describe(report.build(sweep_dir, args.out, args.direction)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
