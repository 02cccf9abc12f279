"""Rewards that crash, hang, need processes or are async: one clear error naming the reward and the row, a
timeout instead of a hang, parallel and async rewards scoring like plain ones."""
from __future__ import annotations

import json
import os
import time

import pytest
from conftest import run_cli

from fai_rl.errors import ConfigError, RunFailed
from fai_rl.rewards import resolve
from fai_rl.rewards.guarded import GuardedReward
from fai_rl.storage.checkpoint_dirs import complete_checkpoints

PROMPTS = [f"prompt {i}" for i in range(8)]
COMPLETIONS = [f"answer {i}" for i in range(8)]


def fails_on_row_5(completions, **kwargs):
    if "answer 5" in completions:
        raise ValueError("cannot score this one")
    return [1.0] * len(completions)


def hangs(completions, **kwargs):
    time.sleep(30)
    return [0.0] * len(completions)


def process_ids(completions, **kwargs):
    return [float(os.getpid())] * len(completions)


async def scored_later(completions, **kwargs):
    return [float(len(c)) for c in completions]


def test_a_raising_reward_names_itself_the_exception_and_the_row():
    with pytest.raises(RunFailed, match=r"reward 'picky' raised ValueError: cannot score this one on row 5 of the "
                                        r"batch \(prompt: 'prompt 5'\)"):
        GuardedReward("picky", fails_on_row_5)(prompts=PROMPTS, completions=COMPLETIONS)


def test_a_hanging_reward_times_out():
    started = time.time()
    with pytest.raises(RunFailed, match=r"reward 'slow' did not return within timeout_s=0.5 s"):
        GuardedReward("slow", hangs, timeout_s=0.5)(prompts=PROMPTS, completions=COMPLETIONS)
    assert time.time() - started < 10  # the hang became an error, long before the reward would return


def test_a_parallel_reward_runs_in_other_processes():
    reward = GuardedReward("pids", process_ids, parallel=2)
    values = reward(prompts=PROMPTS, completions=COMPLETIONS)
    assert len(values) == 8 and float(os.getpid()) not in values  # scored in the pool, in batch order
    assert len(reward._pool._processes) == 2  # which worker takes which half is the pool's choice


def test_an_async_reward_is_awaited():
    assert GuardedReward("later", scored_later)(prompts=PROMPTS, completions=COMPLETIONS) == [8.0] * 8


def test_guard_settings_are_checked():
    with pytest.raises(ConfigError, match=r"'algorithm.rewards.0.timeout_s' must be a number > 0, got 0"):
        resolve([{"_target_": "accuracy", "timeout_s": 0}])
    with pytest.raises(ConfigError, match=r"'algorithm.rewards.0.parallel' must be a whole number"):
        resolve([{"_target_": "accuracy", "parallel": 1.5}])
    (reward,) = resolve([{"_target_": "length_target", "target": 4, "timeout_s": 5, "parallel": 2}])
    assert reward.fn.timeout_s == 5 and reward.fn.parallel == 2


def test_a_reward_failing_mid_run_stops_it_with_one_line_and_keeps_the_checkpoint(tmp_path):
    (tmp_path / "flaky_rewards.py").write_text(
        "calls = 0\n\ndef flaky(completions, **kwargs):\n    global calls\n    calls += 1\n"
        "    if calls > 2:\n        raise KeyError('missing field')\n"
        "    return [0.5] * len(completions)\n")
    proc = run_cli("algorithm=grpo", "algorithm.rewards=[flaky_rewards.flaky]", "data.eval_datasets=[]",
                   "training.max_steps=10", "training.save_steps=2", "training.save_only_model=false",
                   "training.progress_bar=false", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path,
                   env={"PYTHONPATH": f"{os.environ.get('PYTHONPATH', '')}:{tmp_path}".strip(":")})
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("fai-rl: error:")]
    assert len(lines) == 1 and "reward 'flaky' raised KeyError: 'missing field'" in lines[0], proc.stderr[-2000:]
    assert "on row 0 of the batch" in lines[0] and "Traceback" not in proc.stderr
    assert [p.name for p in complete_checkpoints(tmp_path / "model")] == ["checkpoint-2"]
    assert not (tmp_path / "run" / "summary.json").exists() or json.loads(
        (tmp_path / "run" / "summary.json").read_text())["status"] != "completed"
