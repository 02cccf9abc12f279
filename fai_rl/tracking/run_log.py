"""Log file under logs/ (as the seed recipe has it) in addition to the console."""
from __future__ import annotations

import logging
import time
from pathlib import Path

FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


def attach_log_file(run_name: str, log_dir: str = "logs") -> Path:
    path = Path(log_dir) / f"{run_name}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in ("", "fai_rl", "transformers", "trl"):
        logging.getLogger(name).addHandler(handler)
    logging.getLogger().setLevel(min(logging.getLogger().level or logging.INFO, logging.INFO))
    logging.getLogger("fai_rl").setLevel(logging.INFO)
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # per-batch INFO lines drown the useful ones
    return path
