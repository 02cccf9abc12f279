"""Entry of every launched rank: `python -m fai_rl.worker RUN_DIR` reads the run's resolved config and trains.

Hydra runs only in the front process; all ranks read <run_dir>/config.yaml, so they share one config and one
run dir. A failure ends with one line `fai-rl: worker rank R failed: ...` (or `fai-rl: error: ...` for bad input)
that the front process reports.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from fai_rl.config.errors import ConfigError
from fai_rl.tracking.run_log import FORMAT

FAIL_ON_RANK = "FAI_RL_TEST_FAIL_ON_RANK"  # test hook: this rank raises as it starts


def load_run(run_dir: str):
    from omegaconf import OmegaConf

    from fai_rl.config.validate import validate

    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise ConfigError(f"'{path}' does not exist; a worker needs the resolved config the front process writes")
    return validate(OmegaConf.load(path))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m fai_rl.worker RUN_DIR", file=sys.stderr)
        return 2
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format=FORMAT)
    try:
        run = load_run(argv[0])
        if os.environ.get(FAIL_ON_RANK) == str(rank):
            raise RuntimeError(f"injected failure on rank {rank} ({FAIL_ON_RANK})")
        from fai_rl.train import train
        from fai_rl.training_args import start_process_group

        start_process_group(run)
        train(run)
    except ConfigError as err:
        print(f"fai-rl: error: {err}", file=sys.stderr, flush=True)
        return 2
    except Exception as err:  # noqa: BLE001 - every failure must reach the front process as one line
        traceback.print_exc()
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        print(f"fai-rl: worker rank {rank} failed: {last}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
