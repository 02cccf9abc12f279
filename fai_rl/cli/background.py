"""Detached runs (`make train-bg ARGS=...`, the seed's --nohup): a new session that outlives the shell, all
output in logs/<run_name>-<time>.log; prints the PID and the log path.

    python -m fai_rl.cli.background [overrides ...]
"""
from __future__ import annotations

import os
import subprocess
import sys

from hydra.core.override_parser.overrides_parser import OverridesParser

from fai_rl.cli.compose import compose
from fai_rl.cli.entry import console_script
from fai_rl.cli.overrides import check_overrides, conf_tree, override_args
from fai_rl.tracking.run_log import BACKGROUND_LOG, log_path

PROG = "fai-rl"


def _first_of_sweeps(overrides: list) -> list:
    """A sweep's first value for each swept key (a multirun's log is named after its first job)."""
    out = []
    for text, parsed in zip(overrides, OverridesParser.create().parse_overrides(overrides)):
        if parsed.is_sweep_override():
            text = f"{parsed.get_key_element()}={next(iter(parsed.sweep_string_iterator()))}"
        out.append(text)
    return out


def run_name(argv: list) -> str:
    """training.run_name of the composed config (it may depend on the algorithm chosen)."""
    return str(compose(_first_of_sweeps(override_args(argv)), tree=conf_tree(argv)).training.run_name)


def detach(fai_rl_args: list, name: str) -> tuple:
    """Start `python -m fai_rl ARGS` in its own session writing to logs/<name>-<time>.log; return (pid, log)."""
    log = log_path(name).resolve()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "fai_rl", *fai_rl_args], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, BACKGROUND_LOG: str(log)})
    print(f"fai-rl: running in the background, PID {proc.pid}\n  log:  {log}\n"
          f"  follow: tail -f {log}\n  stop:   kill {proc.pid}", flush=True)
    return proc.pid, log


@console_script(PROG)
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check_overrides(argv, conf_tree(argv))  # bad input fails here, in the foreground, not in the log
    detach(argv, run_name(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
