"""Entry of every launched rank: `python -m fai_rl.training.worker RUN_DIR` reads the run's resolved config and
trains.

Hydra runs only in the front process; all ranks read <run_dir>/config.yaml, so they share one config and one
run dir. A failure ends with one line `fai-rl: worker rank R failed: ...` (or `fai-rl: error: ...` for bad input)
that the front process reports.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback

from fai_rl.config.resolved import load_run
from fai_rl.errors import WORKER_ERROR_PREFIX, ConfigError
from fai_rl.tracking.run_log import FORMAT
from fai_rl.training.pipeline import train
from fai_rl.training.processes import start_process_group

FAIL_ON_RANK = "FAI_RL_TEST_FAIL_ON_RANK"  # test hook: this rank raises as it starts


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m fai_rl.training.worker RUN_DIR", file=sys.stderr)
        return 2
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format=FORMAT)
    try:
        run = load_run(argv[0])
        if os.environ.get(FAIL_ON_RANK) == str(rank):
            raise RuntimeError(f"injected failure on rank {rank} ({FAIL_ON_RANK})")
        start_process_group(run)
        train(run)
    except ConfigError as err:
        print(f"{WORKER_ERROR_PREFIX}{err}", file=sys.stderr, flush=True)
        return 2
    except Exception as err:  # noqa: BLE001 - every failure must reach the front process as one line
        traceback.print_exc()
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        print(f"fai-rl: worker rank {rank} failed: {last}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
