"""The run's training-curve plot, drawn by a helper process forked as training starts.

Loading matplotlib costs ~0.3 s; the helper loads it on another core while the run loads torch and trains, then
draws when asked, so the plot adds only its drawing to the run (bench/RESULTS.md, overhead section). Without
os.fork, or if the helper cannot start, the plot is drawn in-process as before.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from fai_rl.config.run_files import RunFiles
from fai_rl.tracking.plots import plot_run, write_run_curves

log = logging.getLogger("fai_rl")


class CurvesPlotter:
    def __init__(self):
        self.pid, self._request, self._asked = None, None, None
        if not hasattr(os, "fork"):
            return
        read, write = os.pipe()
        sys.stdout.flush()  # the helper must not inherit unwritten output (it would write it twice)
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the helper: never returns into the caller's code
            os.close(write)
            os._exit(_helper(read))
        os.close(read)
        self.pid, self._request = pid, write

    def start(self, run_dir: Path, title: str) -> None:
        """Start drawing <run_dir>/training_curves.png from the (complete) metrics.jsonl."""
        self._asked = (Path(run_dir), title)
        if self.pid is not None:
            os.write(self._request, json.dumps([str(run_dir), title]).encode())

    def finish(self) -> None:
        """Wait for the plot; a plotting problem is logged, it does not fail a finished run."""
        run_dir, title = self._asked
        if self.pid is None:
            write_run_curves(run_dir, title)
            return
        code = self.close()
        if code == 0:
            log.info("training curves: %s", RunFiles(Path(run_dir)).curves)
        else:
            log.warning("could not draw the training curves (plot helper exit code %s)", code)

    def close(self):
        """Release the helper (it exits without drawing if nothing was asked); its exit code."""
        if self.pid is None:
            return None
        os.close(self._request)
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        return os.waitstatus_to_exitcode(status)


def _helper(read: int) -> int:
    try:
        os.nice(10)  # loading matplotlib must not take a core from the training threads
        from matplotlib.figure import Figure  # noqa: F401 - loaded while the run trains

        with os.fdopen(read) as pipe:
            request = pipe.read()
        if not request:
            return 0  # the run ended without a plot (it failed, or was stopped)
        run_dir, title = json.loads(request)
        plot_run(Path(run_dir), title)
        return 0
    except BaseException as err:  # noqa: BLE001 - reported by the run through the exit code
        print(f"fai-rl: training-curve plot: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        return 1
