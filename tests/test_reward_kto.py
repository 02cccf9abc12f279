"""Reward model training, a learned reward for GRPO, and KTO, on the embedded tiny model: each learns (a metric that
moves the right way between the evaluations before and after training), and bad reward-model entries are refused."""
from __future__ import annotations

import pytest
from conftest import make_run, run_cli, write_jsonl

from fai_rl.errors import ConfigError
from fai_rl.rewards import resolve
from fai_rl.training.pipeline import train


@pytest.fixture(scope="module")
def reward_run(tmp_path_factory):
    """algorithm=reward on tiny_prefs with its tuned demo settings, saved where run:tiny-rm finds it."""
    tmp = tmp_path_factory.mktemp("reward")
    run = make_run(["algorithm=reward", "training.logging_steps=50"], tmp)
    summary = train(run)
    (tmp / "models" / "tiny-rm").mkdir(parents=True)
    (tmp / "models" / "tiny-rm" / "1").symlink_to(run.training.output_dir)  # where run:tiny-rm looks
    return run, summary, tmp


def test_reward_model_learns_held_out_preferences(reward_run):
    _, summary, _ = reward_run
    before, after = summary["eval_before"], summary["eval_after"]
    assert 0.3 <= before["eval_accuracy"] <= 0.7  # a fresh score head: chance
    assert after["eval_accuracy"] >= before["eval_accuracy"] + 0.1
    assert summary["objective_metric"] == "eval_accuracy"


def test_reward_model_saves_a_sequence_classifier(reward_run):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    run, _, _ = reward_run
    out = run.training.output_dir
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.num_labels == 1 and model.config.pad_token_id is not None
    tok = AutoTokenizer.from_pretrained(out)
    with torch.no_grad():
        scores = model(**tok(["Q: Capital of France?\nA: Paris.", "Q: hi"], return_tensors="pt", padding=True)).logits
    assert scores.shape == (2, 1)
    assert "reward" in open(f"{out}/README.md").read()


def test_grpo_learns_from_the_reward_model(reward_run, monkeypatch):
    """The chain: the reward model of run:tiny-rm scores GRPO's completions, and GRPO raises that score."""
    _, _, tmp = reward_run
    monkeypatch.chdir(tmp)  # run:NAME is looked up under ./models/
    run = make_run(["algorithm=grpo", "algorithm.rewards=[{_target_: 'reward_model:run:tiny-rm', batch_size: 16}]",
                    "training.max_steps=40", "training.logging_steps=5"], tmp / "grpo")
    summary = train(run)
    before, after = summary["eval_before"], summary["eval_after"]
    assert "eval_rewards/reward_model/mean" in after
    assert after["eval_reward"] > before["eval_reward"] + 0.3  # measured: -0.537 -> +0.139 in 40 steps


def test_reward_model_memory_is_in_the_estimate(reward_run, monkeypatch):
    from fai_rl.launch.memory import estimate

    _, _, tmp = reward_run
    monkeypatch.chdir(tmp)
    plain = estimate(make_run(["algorithm=grpo"], tmp / "m1"))
    scored = estimate(make_run(["algorithm=grpo", "algorithm.rewards=[reward_model:run:tiny-rm, letter_share]"],
                               tmp / "m2"))
    assert plain.device["reward models"] == 0
    assert scored.device["reward models"] > 100_000  # the tiny reward model's ~115k fp32 weights


def test_bad_reward_model_entries_are_refused(tmp_path):
    causal = make_run([], tmp_path).model.base_model_name  # builtin:tiny: resolve its folder
    from fai_rl.models.loading import resolve_model_path

    with pytest.raises(ConfigError, match=r"algorithm\.rewards\.0.*is not a reward model.*CausalLM"):
        resolve([f"reward_model:{resolve_model_path(causal)}"])
    with pytest.raises(ConfigError, match=r"algorithm\.rewards\.1.*no finished model"):
        resolve(["letter_share", "reward_model:run:no-such-run"])
    result = run_cli("algorithm=grpo", f"algorithm.rewards=[reward_model:{tmp_path}/missing]", "hardware.dry_run=true")
    assert result.returncode == 2
    assert "algorithm.rewards.0" in result.stderr and "Traceback" not in result.stderr


def test_kto_raises_the_reward_margin(tmp_path):
    """Measured on rows it trains on: in 40 steps the held-out margin of the tiny model does not move yet."""
    seen = "{name: 'builtin:tiny_prefs', split: train, max_samples: 40}"
    run = make_run(["algorithm=kto", "training.max_steps=40", f"data.eval_datasets=[{seen}]"], tmp_path)
    summary = train(run)
    before, after = summary["eval_before"], summary["eval_after"]
    assert abs(before["eval_rewards/margins"]) < 1e-6  # policy = reference before training
    assert after["eval_rewards/margins"] > 0.05


def test_kto_reads_unpaired_rows_with_mapped_columns(tmp_path):
    from fai_rl.algorithms import kto

    rows = [{"q": f"Q: {i}?", "a": f" {i}.", "good": i % 3 != 0} for i in range(12)]
    data = write_jsonl(tmp_path / "unpaired.jsonl", rows)
    spec = f"{{name: {data}, prompt_column: q, completion_column: a, label_column: good}}"
    run = make_run(["algorithm=kto", f"data.datasets=[{spec}]", "data.eval_datasets=[]"], tmp_path)
    train_ds, _ = kto.load_data(run, None)
    assert train_ds.column_names == ["prompt", "completion", "label"]
    assert train_ds["label"] == [r["good"] for r in rows]
    bad = write_jsonl(tmp_path / "bad.jsonl", [{**r, "good": "yes"} for r in rows])
    run = make_run(["algorithm=kto", f"data.datasets=[{{name: {bad}, prompt_column: q, completion_column: a, "
                    "label_column: good}]", "data.eval_datasets=[]"], tmp_path)
    with pytest.raises(ConfigError, match="non-boolean 'good'"):
        kto.load_data(run, None)
