"""Log file under logs/ (as the seed recipe has it) in addition to the console."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

BACKGROUND_LOG = "FAI_RL_LOG_FILE"
FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
LIBRARY_LOGGERS = ("transformers", "trl")  # given the handler too when they do not pass records up to the root


class RunLogHandler(logging.FileHandler):
    """The log file of one run; a new run in the same process (a multirun job) replaces it."""


def _new_log_path(log_dir: Path, run_name: str) -> Path:
    """A fresh file: jobs of a sweep started in the same second get -2, -3, ... (created atomically)."""
    stem = f"{run_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        path = log_dir / (f"{stem}.log" if n == 1 else f"{stem}-{n}.log")
        try:
            path.open("x").close()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"no free log file name for {stem} in {log_dir}")


def log_path(run_name: str, log_dir: str = "logs") -> Path:
    return Path(log_dir) / f"{run_name}-{time.strftime('%Y%m%d-%H%M%S')}.log"


def attach_log_file(run_name: str, log_dir: str = "logs") -> Path:
    """logs/<run_name>-<time>.log; a background run (FAI_RL_LOG_FILE) already sends all its output there."""
    if os.environ.get(BACKGROUND_LOG):
        return Path(os.environ[BACKGROUND_LOG])
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    path = _new_log_path(Path(log_dir), run_name)
    handler = RunLogHandler(path)
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in ("", *LIBRARY_LOGGERS):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, RunLogHandler)]:
            logger.removeHandler(old)
            old.close()
        if name == "" or not logger.propagate:
            logger.addHandler(handler)
    logging.getLogger().setLevel(min(logging.getLogger().level or logging.INFO, logging.INFO))
    logging.getLogger("fai_rl").setLevel(logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # per-batch INFO lines drown the useful ones
    return path
