"""Run the launcher and its workers as one unit: stream their output, surface the first failure, leave no orphans.

torchrun (under `accelerate launch`) starts every worker in its own session, so a signal to one process group
does not reach them. The front process therefore stops the launcher (which stops its workers) and then kills
any descendant still alive; the launcher also gets SIGTERM if the front process dies (PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Mapping, Optional

from fai_rl.errors import Interrupted, Preempted, SignalReceived, TrainingDiverged

FAILURE_LINE = re.compile(r"^fai-rl: (error: |worker rank \d+ failed: )")
RANK_FAILED = re.compile(r"^fai-rl: worker rank \d+ failed: (?:[\w.]+\.)?(\w+)")  # the exception's class name
STOP_GRACE_S = 20.0
# A rank failed (not a stop it was asked for): the others cannot finish a step without it, and torchrun would give
# them 30 s after its SIGTERM (which they take as "stop after this step", a step that never ends) before SIGKILL.
PEER_FAILED_GRACE_S = 3.0
# the planned stops: a rank ending with one of them is saving or has saved, and the others stop alike
PLANNED_STOPS = {cls.__name__ for cls in (Preempted, Interrupted, TrainingDiverged)}
RECENT_LINES = 200
RANK_LAST_LINES = 5  # a dead rank's last lines of output, in the error that names it
RANK_LINE = re.compile(r"^\[rank(\d+)\]: ?")  # commands.RANK_LINE_PREFIX: torchrun's tee marks each worker line
# torchrun's failure report: the first rank that failed and its exit code (negative: killed by that signal)
ROOT_CAUSE = re.compile(r"Root Cause \(first observed failure\):.*?rank\s*:\s*(\d+).*?exitcode\s*:\s*(-?\d+)", re.S)


def die_with_parent() -> None:
    """In the child before exec: receive SIGTERM when the front process dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stat(pid) -> Optional[list]:
    """Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> dict:
    """Every live process below `pid` -> its start time (from /proc; empty where there is no /proc)."""
    children: dict = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        fields = _stat(entry) if entry.isdigit() else None
        if fields:
            children.setdefault(int(fields[1]), []).append((int(entry), fields[19]))
    found, todo = {}, [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            found[child] = started
            todo.append(child)
    return found


def alive(pid: int, started: Optional[str] = None) -> bool:
    """Still running (not a zombie), and the same process when its start time is given (pids are reused)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z" and (started is None or fields[19] == started)


def kill(pid: int) -> None:
    """SIGKILL `pid`; one already gone is fine."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(proc: subprocess.Popen, tree: dict, grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the launcher (it stops its workers), wait, then SIGKILL whatever of its tree is left."""
    tree = {**tree, **descendants(proc.pid)}
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    deadline = time.time() + grace_s
    while time.time() < deadline and (proc.poll() is None or any(alive(*p) for p in tree.items())):
        time.sleep(0.2)
    if proc.poll() is None:
        kill(proc.pid)
    for pid, started in tree.items():
        if alive(pid, started):
            kill(pid)
    proc.wait()


class _Pump(threading.Thread):
    """Copy one pipe to our stream line by line, remembering the first failure line, the last line and each rank's
    last lines."""

    def __init__(self, pipe, out):
        super().__init__(daemon=True)
        self.pipe, self.out = pipe, out
        self.first_failure: Optional[str] = None
        self.last_line: Optional[str] = None
        self.recent: deque = deque(maxlen=RECENT_LINES)
        self.by_rank: dict = {}  # rank -> deque of its last non-empty lines
        self.rank_failed_at: Optional[float] = None  # when a rank first reported a failure that is not a stop

    def run(self):
        for line in iter(self.pipe.readline, ""):
            self.out.write(line)
            self.out.flush()
            rank = RANK_LINE.match(line)
            text = (line[rank.end():] if rank else line).strip()
            self.recent.append(line.rstrip("\n"))
            if text:
                self.last_line = text
                if rank:
                    self.by_rank.setdefault(int(rank.group(1)), deque(maxlen=RANK_LAST_LINES)).append(text)
                if self.first_failure is None and FAILURE_LINE.match(text):
                    self.first_failure = text
                failed = RANK_FAILED.match(text)
                if failed and failed.group(1) not in PLANNED_STOPS and self.rank_failed_at is None:
                    self.rank_failed_at = time.time()


def killed_rank(lines, last_lines: Mapping[int, list]) -> Optional[str]:
    """'worker rank R was killed by signal N ...; its last lines: ...' when torchrun reports a rank killed by a
    signal as the first failure (the other ranks' errors, e.g. a reset connection, are its consequence)."""
    match = ROOT_CAUSE.search("\n".join(lines))
    if not match or int(match.group(2)) >= 0:
        return None
    rank, signum = int(match.group(1)), -int(match.group(2))
    name = signal.Signals(signum).name if signum in signal.valid_signals() else "unknown"
    said = " | ".join(last_lines.get(rank, [])) or "(none)"
    return (f"fai-rl: worker rank {rank} was killed by signal {signum} ({name}), e.g. out of memory or "
            f"kill -9; the other ranks were stopped; its last lines of output: {said}")


def run_supervised(argv: list, env: Mapping[str, str]) -> tuple:
    """Run `argv` to its end; return (exit code, first worker failure line or the last stderr line).

    Ctrl-C or SIGTERM stops the whole tree and raises SignalReceived.
    """
    proc = subprocess.Popen(argv, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            bufsize=1, start_new_session=True, preexec_fn=die_with_parent)
    pumps = [_Pump(proc.stdout, sys.stdout), _Pump(proc.stderr, sys.stderr)]
    for pump in pumps:
        pump.start()

    def on_term(signum, _frame):
        raise SignalReceived(signum)

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() else None
    tree: dict = {}
    try:
        while proc.poll() is None:  # remember the workers: once the launcher exits they are no longer below it
            tree.update(descendants(proc.pid))
            if peer_failed(pumps):
                stop(proc, tree, grace_s=5)
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        stop(proc, tree)
        raise SignalReceived(signal.SIGINT)
    except SignalReceived:
        stop(proc, tree)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    for pump in pumps:
        pump.join(timeout=5)
    stop(proc, tree, grace_s=5)  # the launcher has exited; make sure none of its workers outlive it
    last_lines = {**pumps[0].by_rank, **pumps[1].by_rank}  # its log lines (stderr) rather than its prints
    failure = (killed_rank(pumps[1].recent, last_lines) or pumps[1].first_failure or pumps[0].first_failure
               or pumps[1].last_line)
    return (1 if peer_failed(pumps) and proc.returncode < 0 else proc.returncode), failure


def peer_failed(pumps: list) -> bool:
    """A rank reported a failure more than PEER_FAILED_GRACE_S ago (time for the launcher to end on its own)."""
    return any(p.rank_failed_at and time.time() - p.rank_failed_at > PEER_FAILED_GRACE_S for p in pumps)
