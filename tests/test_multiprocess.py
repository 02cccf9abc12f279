"""Two real processes on CPU: DDP, ZeRO-1, ZeRO-2 and ZeRO-3 train, save a full model, fail loudly, stop cleanly.

ALGORITHMS lists each algorithm with the overrides that make a few of its steps quick; CASES picks the
algorithm x preset pairs (an algorithm added to the registry joins by an entry in both).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from conftest import REPO, run_cli

ALGORITHMS = {
    "dpo": ["algorithm=dpo"],
    "grpo": ["algorithm=grpo"],
    "gspo": ["algorithm=gspo"],
    "sft": ["algorithm=sft"],
}
HARDWARE = ["cpu2_ddp", "cpu2_zero2", "cpu2_zero3"]
# DPO and GRPO on every preset; GSPO (GRPO's code path, other settings) and SFT on DDP and ZeRO-3; ZeRO-1 once
CASES = [(a, h) for a in ("dpo", "grpo") for h in HARDWARE] + [(a, h) for a in ("gspo", "sft") for h in
                                                                  ("cpu2_ddp", "cpu2_zero3")] + [("dpo", "cpu2_zero1")]
STEPS = 3
pytestmark = pytest.mark.slow


def _paths(tmp_path):
    return [f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model"]


def _processes_of(run_dir) -> list:
    """Live processes whose command line names this run dir (the launcher and its workers)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode()
            with open(f"/proc/{pid}/stat") as f:
                zombie = f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            continue
        if "fai_rl.training.worker" in cmd and str(run_dir) in cmd and not zombie:
            found.append(int(pid))
    return found


@pytest.fixture(scope="module")
def base_parameter_count():
    from transformers import AutoModelForCausalLM

    from fai_rl.models.tiny import tiny_model_path

    model = AutoModelForCausalLM.from_pretrained(tiny_model_path())
    return sum(p.numel() for p in model.parameters()), {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("algorithm,hardware", CASES, ids=[f"{a}-{h}" for a, h in CASES])
def test_two_processes_train_and_save_a_full_model(algorithm, hardware, tmp_path, base_parameter_count):
    from transformers import AutoModelForCausalLM

    proc = run_cli(*ALGORITHMS[algorithm], f"hardware={hardware}", f"training.max_steps={STEPS}",
                   "training.logging_steps=1", "training.per_device_train_batch_size=4", *_paths(tmp_path),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == STEPS
    assert summary["world_size"] == 2 and summary["effective_batch_size"] == 8  # measured by Accelerate
    assert "effective batch 8 = 4 per device x 1 accumulation x 2 processes" in proc.stdout

    steps = [r["step"] for r in map(json.loads, open(tmp_path / "run" / "metrics.jsonl")) if "loss" in r]
    assert steps == list(range(1, STEPS + 1))  # one writer: rank 0
    assert len(list((tmp_path / "logs").glob("*.log"))) == 1

    count, base_state = base_parameter_count
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")  # one process, no DeepSpeed
    assert sum(p.numel() for p in model.parameters()) == count
    changed = [k for k, v in model.state_dict().items() if k in base_state and not v.equal(base_state[k])]
    assert changed, "the saved weights are the initial ones"
    if hardware == "cpu2_zero3":  # sharded while loading: rank 0 held about half of the values
        held = [line for line in proc.stderr.splitlines() if "model loaded: this process holds" in line]
        assert held, proc.stderr[-3000:]
        assert count * 0.4 < int(held[0].split("holds ")[1].split()[0]) < count * 0.6


def test_a_failing_worker_fails_the_run_with_its_error(tmp_path):
    proc = run_cli("hardware=cpu2_ddp", "training.max_steps=2", *_paths(tmp_path), cwd=tmp_path,
                   env={"FAI_RL_TEST_FAIL_ON_RANK": "1"})
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("fai-rl: error: training failed"), last
    assert "worker rank 1 failed: RuntimeError: injected failure on rank 1" in last
    assert not _processes_of(tmp_path / "run")
    assert not (tmp_path / "run" / "summary.json").exists()


def test_sigterm_stops_every_worker(tmp_path):
    with _front_process(tmp_path, "training.max_steps=100000") as front:
        deadline = time.time() + 120
        while len(_processes_of(tmp_path / "run")) < 3 and time.time() < deadline:  # launcher + 2 workers
            assert front.poll() is None, front.stderr.read()[-3000:]
            time.sleep(0.5)
        assert len(_processes_of(tmp_path / "run")) >= 3  # (rank 0 may also have its curve-plot helper)
        front.send_signal(signal.SIGTERM)
        assert front.wait(timeout=60) == 128 + signal.SIGTERM
        assert "SIGTERM: stopped every worker" in front.stderr.read()
        assert not _processes_of(tmp_path / "run")


def _rank_of(pid: int):
    """RANK of a worker process (from its environment), or None."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    except OSError:
        return None
    return int(env[b"RANK"]) if b"RANK" in env else None


@contextmanager
def _front_process(tmp_path, *args):
    """`python -m fai_rl ARGS` on 2 CPU processes in the background; whatever is left of it is killed afterwards."""
    front = subprocess.Popen([sys.executable, "-m", "fai_rl", "hardware=cpu2_ddp", *args, *_paths(tmp_path)],
                             cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        yield front
    finally:
        if front.poll() is None:
            front.kill()
        for pid in _processes_of(tmp_path / "run"):
            os.kill(pid, signal.SIGKILL)


def test_a_rank_killed_stops_the_job_and_is_named(tmp_path):
    """kill -9 of rank 1 mid-training: the job ends with one line naming the killed rank, and nothing is left."""
    with _front_process(tmp_path, "algorithm=grpo", "training.max_steps=100000", "training.progress_bar=false",
                        "data.eval_datasets=[]") as front:
        deadline = time.time() + 180
        while not (tmp_path / "run" / "metrics.jsonl").exists() and time.time() < deadline:  # training runs
            assert front.poll() is None, front.stderr.read()[-3000:]
            time.sleep(0.2)
        (victim,) = [pid for pid in _processes_of(tmp_path / "run") if _rank_of(pid) == 1]
        os.kill(victim, signal.SIGKILL)
        assert front.wait(timeout=120) == 1
        last = front.stderr.read().strip().splitlines()[-1]
        assert last.startswith("fai-rl: error: training failed"), last
        assert "worker rank 1 was killed by signal 9 (SIGKILL)" in last
        assert not _processes_of(tmp_path / "run")
