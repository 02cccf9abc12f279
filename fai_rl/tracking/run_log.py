"""Log file under logs/ (as the seed recipe has it) in addition to the console."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

BACKGROUND_LOG = "FAI_RL_LOG_FILE"
FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


def log_path(run_name: str, log_dir: str = "logs") -> Path:
    return Path(log_dir) / f"{run_name}-{time.strftime('%Y%m%d-%H%M%S')}.log"


def attach_log_file(run_name: str, log_dir: str = "logs") -> Path:
    """logs/<run_name>-<time>.log; a background run (FAI_RL_LOG_FILE) already sends all its output there."""
    if os.environ.get(BACKGROUND_LOG):
        return Path(os.environ[BACKGROUND_LOG])
    path = log_path(run_name, log_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in ("", "fai_rl", "transformers", "trl"):
        logging.getLogger(name).addHandler(handler)
    logging.getLogger().setLevel(min(logging.getLogger().level or logging.INFO, logging.INFO))
    logging.getLogger("fai_rl").setLevel(logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # per-batch INFO lines drown the useful ones
    return path
