"""Dynamic sampling (algorithm.dynamic_sampling): groups whose completions all scored the same are dropped and the
batch is refilled from fresh prompts; its settings are checked before anything loads; two DDP ranks agree."""
from __future__ import annotations

import json
import os

import pytest
from conftest import REPO, built_trainer, make_run, run_cli

from fai_rl.errors import ConfigError
from fai_rl.tracking.plots import present_panels, read_metrics
from fai_rl.training.pipeline import train

ENABLED = ["algorithm=grpo", "algorithm.dynamic_sampling.enabled=true", "data.eval_datasets=[]"]
REWARD = ["algorithm.rewards=[test_dynamic_sampling.spread_on_odd_prompts]", "algorithm.dynamic_sampling.max_rounds=10"]
METRICS = ["dynamic_sampling/dropped_share", "dynamic_sampling/rounds", "dynamic_sampling/informative_share"]


def spread_on_odd_prompts(prompts, completions, trainer_state=None, **kwargs):
    """Test reward: 0, 1, 0, 1, ... down a group of a prompt of odd length (a spread whatever the model writes),
    0.5 for every completion of the others (no signal). With DYNAMIC_SAMPLING_CALLS set, each call (one per
    generation round) appends the step it serves to <that dir>/rank<RANK>.txt."""
    if os.environ.get("DYNAMIC_SAMPLING_CALLS") and trainer_state is not None:
        with open(f"{os.environ['DYNAMIC_SAMPLING_CALLS']}/rank{os.environ.get('RANK', '0')}.txt", "a") as f:
            f.write(f"{trainer_state.global_step}\n")
    return [i % 2 if len(prompt) % 2 else 0.5 for i, prompt in enumerate(prompts)]


def _logged(run, key: str) -> list:
    return [r[key] for r in map(json.loads, open(f"{run.run_dir}/metrics.jsonl")) if key in r]


@pytest.mark.parametrize("overrides,message", [
    (["algorithm.dynamic_sampling.max_rounds=0"], "'algorithm.dynamic_sampling.max_rounds' must be >= 1"),
    (["algorithm.dynamic_sampling.tolerance=-1"], "'algorithm.dynamic_sampling.tolerance' must be >= 0"),
    (["hardware=cpu2_ddp", "training.per_device_train_batch_size=4"],  # 8 completions in all, 4 per process
     "training.per_device_train_batch_size x training.gradient_accumulation_steps = 4 x 1 = 4 must be divisible by "
     "algorithm.num_generations (8)"),
    (["hardware=cpu2_ddp", "training.per_device_train_batch_size=4", "algorithm.generation.batch_size=8"],
     "algorithm.generation.batch_size / processes = 8 / 2 = 4 must be divisible by algorithm.num_generations (8)"),
])
def test_bad_settings_name_the_field(overrides, message, tmp_path):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_run(ENABLED + overrides, tmp_path)


def test_equal_reward_groups_are_dropped_and_refilled(tmp_path):
    run = make_run(ENABLED + REWARD + ["training.max_steps=3", "training.logging_steps=1"], tmp_path)
    summary = train(run)
    assert summary["status"] == "completed" and summary["steps"] == 3
    dropped, rounds, full = (_logged(run, key) for key in METRICS)
    assert len(dropped) == len(rounds) == len(full) == 3
    assert 0 < max(dropped) < 1 and max(rounds) >= 1  # about half the prompts give no signal: refilled
    assert full == [1.0] * 3  # every trained group has a reward spread
    panels = dict(present_panels({"run": read_metrics(f"{run.run_dir}/metrics.jsonl")}))
    assert panels["dynamic sampling"] == METRICS[::2] and panels["dynamic sampling rounds"] == METRICS[1:2]

    # The trainer as a run builds it, on a generation batch of signal-free prompts only: refilled to full size.
    grpo = built_trainer(ENABLED + REWARD, tmp_path / "direct")
    grpo.model.train()
    even = [row for row in grpo.train_dataset if len(row["prompt"]) % 2 == 0][:2]
    batch = grpo._generate_and_score_completions([dict(row) for row in even for _ in range(grpo.num_generations)])
    advantages = batch["advantages"].view(-1, grpo.num_generations)
    assert advantages.shape == (2, grpo.num_generations)  # the batch is full
    assert (advantages.abs().amax(dim=1) > 0).all()  # and every group in it carries signal
    assert batch["completion_ids"].shape[0] == batch["prompt_ids"].shape[0] == 2 * grpo.num_generations
    assert batch["num_items_in_batch"] == batch["completion_mask"].sum()


@pytest.mark.slow
def test_two_ranks_refill_alike_and_train_the_same_steps(tmp_path):
    calls = tmp_path / "calls"
    calls.mkdir()
    proc = run_cli(*ENABLED, *REWARD, "hardware=cpu2_ddp",
                   "training.max_steps=3", "training.logging_steps=1", "training.per_device_train_batch_size=8",
                   f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model", cwd=tmp_path,
                   env={"PYTHONPATH": f"{REPO}:{REPO / 'tests'}", "DYNAMIC_SAMPLING_CALLS": str(calls)})
    assert proc.returncode == 0, proc.stderr[-4000:]
    rounds = {path.name: path.read_text().split() for path in calls.iterdir()}  # the step each round served
    assert set(rounds) == {"rank0.txt", "rank1.txt"} and rounds["rank0.txt"] == rounds["rank1.txt"]
    assert rounds["rank0.txt"][-1] == "2" and len(rounds["rank0.txt"]) > 3  # 3 steps, refill rounds among them
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 3 and summary["world_size"] == 2
    records = [json.loads(line) for line in open(tmp_path / "run" / "metrics.jsonl")]
    assert [r["step"] for r in records if "dynamic_sampling/rounds" in r] == [1, 2, 3]
    assert max(r["dynamic_sampling/rounds"] for r in records if "dynamic_sampling/rounds" in r) >= 1  # refilled
