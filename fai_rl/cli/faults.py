"""`make faults`: kill a training run with SIGKILL at random moments, resume it each time, and check that the
final model and step equal those of a run that was never killed.

    python -m fai_rl.cli.faults --kills 5 --steps 400 [extra fai-rl overrides ...]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.numpy import load_file

from fai_rl.launch.workers import descendants, kill
from fai_rl.storage.checkpoint_dirs import complete_checkpoints


def overrides(steps: int, save_steps: int, out: Path, run_dir: Path, extra: list) -> list:
    return [f"training.max_steps={steps}", f"training.save_steps={save_steps}", "training.save_only_model=false",
            "training.save_total_limit=2", "training.resume=auto", "training.progress_bar=false",
            "data.eval_datasets=[]", f"training.output_dir={out}", f"hydra.run.dir={run_dir}", *extra]


def start(args: list, log: Path) -> subprocess.Popen:
    with open(log, "a") as f:
        return subprocess.Popen([sys.executable, "-m", "fai_rl", *args], stdout=f, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def kill_job(proc: subprocess.Popen) -> None:
    """SIGKILL the front process and every process below it at once (the launcher and its workers run in sessions
    of their own, so a process-group kill would miss them): the whole job dies as on a lost machine."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        kill(pid)
    proc.wait()


def newest_step(out: Path) -> int:
    done = complete_checkpoints(out)
    return int(done[-1].name.split("-")[1]) if done else 0


def kill_points(kills: int, steps: int, save_steps: int, rng: random.Random) -> list:
    """The checkpoint after which each kill comes: distinct, rising, and each at least two checkpoints before the
    end, so that a run never finishes before its kill lands."""
    candidates = list(range(save_steps, steps - 2 * save_steps + 1, save_steps))
    if len(candidates) < kills:
        raise SystemExit(f"faults: {kills} kills need {kills} checkpoints at least two saves before the end; "
                         f"--steps {steps} with --save-steps {save_steps} has {len(candidates)}: raise --steps or "
                         "lower --save-steps")
    return sorted(rng.sample(candidates, kills))


def wait_for_checkpoint(proc: subprocess.Popen, out: Path, target: int) -> float:
    """Wait until checkpoint `target` (or a later one) is complete; return the seconds between the last two new
    checkpoints seen (how long one save interval takes now), or 0 when fewer than two were seen."""
    seen, times, deadline = newest_step(out), [], time.time() + 900
    while proc.poll() is None and seen < target and time.time() < deadline:
        time.sleep(0.05)
        step = newest_step(out)
        if step != seen:
            seen, times = step, [*times[-1:], time.time()]
    return times[-1] - times[0] if len(times) == 2 else 0.0


def run_with_kills(work: Path, kills: int, steps: int, save_steps: int, extra: list, rng: random.Random) -> tuple:
    out, points = work / "model", kill_points(kills, steps, save_steps, rng)
    for attempt, target in enumerate(points, start=1):
        proc = start(overrides(steps, save_steps, out, work / f"run{attempt}", extra), work / "faulty.log")
        interval = wait_for_checkpoint(proc, out, target) or 0.5
        time.sleep(rng.uniform(0.0, 0.5) * interval)  # a random moment of the next save interval (maybe mid-save)
        if proc.poll() is not None:
            raise SystemExit(f"faults: the run ended (exit {proc.returncode}) before kill {attempt}; see "
                             f"{work / 'faulty.log'}")
        kill_job(proc)
        print(f"  kill {attempt}: SIGKILL of the whole job after checkpoint {newest_step(out)}", flush=True)
    proc = start(overrides(steps, save_steps, out, work / f"run{kills + 1}", extra), work / "faulty.log")
    if proc.wait() != 0:
        raise SystemExit(f"faults: the resumed run failed; see {work / 'faulty.log'}")
    return out, kills


def compare(a: Path, b: Path) -> float:
    """The largest absolute weight difference between two saved models (float32 weights, read with numpy)."""
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    if wa.keys() != wb.keys():
        return float("inf")
    return max(float(abs(wa[k] - wb[k]).max()) for k in wa)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="fai-rl-faults", description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--save-steps", type=int, default=25)
    p.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    p.add_argument("--tolerance", type=float, default=1e-5, help="max |weight difference| accepted")
    p.add_argument("extra", nargs="*", help="more fai-rl overrides for both runs")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fai-rl-faults-") as tmp:
        tmp = Path(tmp)
        (tmp / "straight").mkdir()
        (tmp / "faulty").mkdir()
        print(f"faults: reference run ({args.steps} steps, never killed)", flush=True)
        ref = start(overrides(args.steps, args.save_steps, tmp / "straight" / "model", tmp / "straight" / "run",
                              args.extra), tmp / "straight.log")
        if ref.wait() != 0:
            print((tmp / "straight.log").read_text()[-3000:], file=sys.stderr)
            return 1
        print(f"faults: faulty run, {args.kills} random SIGKILLs", flush=True)
        out, survived = run_with_kills(tmp / "faulty", args.kills, args.steps, args.save_steps, args.extra,
                                       random.Random(args.seed))
        summary = json.loads(sorted((tmp / "faulty").glob("run*/summary.json"))[-1].read_text())
        diff = compare(tmp / "straight" / "model", out)
        ok = summary["steps"] == args.steps and diff <= args.tolerance
        print(f"faults: survived {survived} kills; final step {summary['steps']} (expected {args.steps}); "
              f"max |weight difference| vs never-killed run {diff:.3g} (tolerance {args.tolerance:g}); "
              + ("nothing lost" if ok else "SOMETHING WAS LOST"), flush=True)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
