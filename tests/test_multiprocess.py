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

from fai_rl.launch.workers import alive, descendants
from fai_rl.storage.checkpoint_dirs import checkpoint_step, complete_checkpoints

ALGORITHMS = {
    "dpo": ["algorithm=dpo"],
    "grpo": ["algorithm=grpo"],
    "gspo": ["algorithm=gspo"],
    "sft": ["algorithm=sft"],
    "reward": ["algorithm=reward"],
    "kto": ["algorithm=kto"],
    "rloo": ["algorithm=rloo"],
    "distill": ["algorithm=distill"],  # with a teacher that differs from the student: the sft_teacher fixture
}
# DPO on every preset (ZeRO-1 only here); GRPO (generation under sharded weights) and SFT on DDP and ZeRO-3; GSPO
# (GRPO's code path, other settings) and the other algorithms on DDP
CASES = ([("dpo", h) for h in ("cpu2_ddp", "cpu2_zero1", "cpu2_zero2", "cpu2_zero3")]
         + [(a, h) for a in ("grpo", "sft") for h in ("cpu2_ddp", "cpu2_zero3")]
         + [(a, "cpu2_ddp") for a in ("gspo", "reward", "kto", "rloo", "distill")])
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


@pytest.fixture(scope="module")
def sft_teacher(tmp_path_factory):
    """A teacher for distillation that is not the student's starting point (distilling builtin:tiny from itself
    has nothing to learn: every gradient is zero)."""
    from conftest import make_run

    from fai_rl.training.pipeline import train

    tmp = tmp_path_factory.mktemp("teacher")
    run = make_run(["algorithm=sft", "training.max_steps=5", "training.learning_rate=3e-3", "data.eval_datasets=[]",
                    "training.progress_bar=false"], tmp)
    train(run)
    return run.training.output_dir


@pytest.mark.parametrize("algorithm,hardware", CASES, ids=[f"{a}-{h}" for a, h in CASES])
def test_two_processes_train_and_save_a_full_model(algorithm, hardware, tmp_path, base_parameter_count, request):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    extra = [f"algorithm.teacher={request.getfixturevalue('sft_teacher')}"] if algorithm == "distill" else []
    proc = run_cli(*ALGORITHMS[algorithm], *extra, f"hardware={hardware}", f"training.max_steps={STEPS}",
                   "training.logging_steps=1", "training.per_device_train_batch_size=4", *_paths(tmp_path),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == STEPS
    assert summary["world_size"] == 2 and summary["effective_batch_size"] == 8  # measured by Accelerate
    assert "effective batch 8 = 4 per device x 1 accumulation x 2 processes" in proc.stdout
    assert "find_unused_parameters=True" not in proc.stdout + proc.stderr  # no extra autograd search per step

    steps = [r["step"] for r in map(json.loads, open(tmp_path / "run" / "metrics.jsonl")) if "loss" in r]
    assert steps == list(range(1, STEPS + 1))  # one writer: rank 0
    assert len(list((tmp_path / "logs").glob("*.log"))) == 1

    count, base_state = base_parameter_count
    if algorithm == "reward":  # a scoring head in place of the language-model head
        model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model")
        assert model.score.out_features == 1
    else:
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
    """`python -m fai_rl ARGS` on 2 CPU processes in the background (in tmp_path, so a module there can be a reward);
    whatever is left of it is killed afterwards."""
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


def _job_tree(front, until) -> dict:
    """Every process below the front process (pid -> start time) seen while `until()` is false and it runs."""
    tree: dict = {}
    while not until() and front.poll() is None:
        tree.update(descendants(front.pid))
        time.sleep(0.1)
    return tree


def _left_running(tree: dict) -> list:
    """The processes of `tree` still running (the same process: its start time is compared, pids are reused)."""
    return [pid for pid, started in tree.items() if alive(pid, started)]


GRPO_QUICK = ["algorithm=grpo", "training.max_steps=100000", "training.progress_bar=false", "data.eval_datasets=[]"]


def test_a_rank_killed_stops_the_job_within_30_s_and_the_newest_checkpoint_resumes(tmp_path):
    """kill -9 of rank 1 mid-training: within 30 s the job ends with one line naming the killed rank and its last
    output, no process of the job is left, and resume=auto continues from the newest complete checkpoint."""
    resumable = ["training.save_steps=2", "training.save_only_model=false"]
    with _front_process(tmp_path, *GRPO_QUICK, *resumable) as front:
        tree = _job_tree(front, until=lambda: complete_checkpoints(tmp_path / "model"))
        assert complete_checkpoints(tmp_path / "model"), front.stderr.read()[-3000:]
        (victim,) = [pid for pid in _processes_of(tmp_path / "run") if _rank_of(pid) == 1]
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        tree.update(_job_tree(front, until=lambda: time.time() > killed_at + 60))
        assert front.wait(timeout=5) == 1
        took = time.time() - killed_at
        last = front.stderr.read().strip().splitlines()[-1]
    assert took < 30, f"the job took {took:.0f} s to stop"
    assert last.startswith("fai-rl: error: training failed"), last
    assert "worker rank 1 was killed by signal 9 (SIGKILL)" in last
    (rank1_log,) = (tmp_path / "run" / "ranks").glob("*/attempt_0/1/stderr.log")  # torchrun's copy of its output
    assert [ln for ln in rank1_log.read_text().splitlines() if ln.strip()][-1].strip() in last
    assert not _left_running(tree)

    newest = complete_checkpoints(tmp_path / "model")[-1]
    target = checkpoint_step(newest) + 1
    proc = run_cli("hardware=cpu2_ddp", *GRPO_QUICK, *resumable, "training.resume=auto",
                   f"training.max_steps={target}", f"hydra.run.dir={tmp_path}/resumed",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "resumed" / "summary.json").read_text())
    assert summary["resumed_from"] == str(newest) and summary["steps"] == target


HANGING_REWARD = """
import os
import time

CALLS = []


def hang_on_rank_1(completions, **kwargs):
    CALLS.append(len(completions))
    if os.environ.get("RANK") == "1" and len(CALLS) > 1:
        time.sleep(3600)  # its second call never returns
    return [float(len(c)) for c in completions]
"""


def test_the_watchdog_names_a_hung_rank_and_where_it_was(tmp_path):
    """Rank 1 hangs in its reward: after training.watchdog_s both ranks' stacks are written, the job ends with one
    line naming rank 1 (the reward) as stuck and rank 0 as waiting in a collective, and nothing is left running."""
    (tmp_path / "hanging_reward.py").write_text(HANGING_REWARD)
    with _front_process(tmp_path, *GRPO_QUICK, "algorithm.rewards=[hanging_reward.hang_on_rank_1]",
                        "training.watchdog_s=15") as front:
        started = time.time()
        tree = _job_tree(front, until=lambda: time.time() > started + 240)
        assert front.wait(timeout=5) == 1
        last = front.stderr.read().strip().splitlines()[-1]
    assert last.startswith("fai-rl: error: training failed"), last
    assert "watchdog: no training step completed in 15 s (training.watchdog_s)" in last
    assert "stuck: rank 1 at hang_on_rank_1 (" in last and "hanging_reward.py:" in last
    assert "waiting for it in a collective: rank 0 at " in last
    watchdog = tmp_path / "run" / "watchdog"
    assert "hang_on_rank_1" in (watchdog / "rank-1-stacks.txt").read_text()
    assert "torch/distributed" in (watchdog / "rank-0-stacks.txt").read_text()
    (run_log,) = (tmp_path / "logs").glob("*.log")
    assert "watchdog: rank 0 stacks" in run_log.read_text() and "watchdog: rank 1 stacks" in run_log.read_text()
    assert not _left_running(tree)
