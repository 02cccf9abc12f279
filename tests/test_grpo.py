"""GRPO and GSPO learn on the embedded default, GSPO really is sequence-level, GSM8K-style data trains with the
accuracy reward, and bad rewards or prompt data fail clearly."""
from __future__ import annotations

import json

import pytest
from conftest import built_trainer, make_run, run_cli, write_jsonl

from fai_rl.errors import ConfigError
from fai_rl.training.pipeline import train

TRAIN_METRICS = ["reward", "reward_std", "rewards/letter_share/mean", "rewards/letter_share/std",
                 "frac_reward_zero_std", "completions/mean_length", "clip_ratio/region_mean",
                 "clip_ratio/low_mean", "clip_ratio/high_mean"]


def _logged(run, key: str) -> list:
    return [r[key] for r in map(json.loads, open(f"{run.run_dir}/metrics.jsonl")) if r.get(key) is not None]


def _first_last(values: list, n: int = 3) -> tuple:
    return sum(values[:n]) / n, sum(values[-n:]) / n


@pytest.fixture(scope="module", params=["grpo", "gspo"])
def default_run(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    run = make_run([f"algorithm={request.param}"], tmp)
    return run, train(run)


def test_default_learns_the_task(default_run):
    run, summary = default_run
    margin = {"grpo": 0.25, "gspo": 0.1}[run.algorithm.name]  # measured: 0.27 -> 0.73 and 0.26 -> 0.49
    first, last = _first_last(_logged(run, "reward"))
    assert summary["status"] == "completed" and summary["steps"] == run.training.max_steps
    assert last > first + margin, (first, last)
    before, after = summary["eval_before"]["eval_reward"], summary["eval_after"]["eval_reward"]
    assert after > before + margin, (before, after)
    assert summary["objective"] == pytest.approx(after)


def test_summary_holds_the_grpo_metrics(default_run):
    run, summary = default_run
    saved = json.loads(open(f"{run.run_dir}/summary.json").read())
    for key in TRAIN_METRICS:
        assert key in saved["final_metrics"], key
        assert len(_logged(run, key)) == run.training.max_steps // run.training.logging_steps, key
    assert "kl" not in saved["final_metrics"]  # beta = 0: no KL term, no reference model
    assert saved["algorithm"] == run.algorithm.name and saved["objective_metric"] == "eval_reward"
    assert "eval_rewards/letter_share/mean" in saved["eval_after"]


def test_only_gspo_clips_its_off_policy_steps(default_run):
    """GSPO reuses each generation batch for 4 steps with a 3e-4 clip range: later steps clip whole sequences;
    default GRPO updates on-policy, so nothing is clipped."""
    run, _ = default_run
    clipped = _logged(run, "clip_ratio/region_mean")
    if run.algorithm.name == "gspo":
        assert sum(clipped) / len(clipped) > 0.05
    else:
        assert max(clipped) == 0.0


@pytest.mark.parametrize("overrides,data,rewards,lr", [
    (["algorithm=grpo"], "builtin:tiny_vowels", ["letter_share"], 3e-3),
    (["algorithm=gspo"], "builtin:tiny_vowels", ["letter_share"], 5e-3),
    (["algorithm=grpo", "data=tiny_math"], "builtin:tiny_math", ["accuracy", {"_target_": "format", "weight": 0.2}], 1e-3),
    (["algorithm=grpo", "~tuned", "algorithm.max_completion_length=32"], "builtin:tiny_vowels", ["accuracy"], 5e-4),
    (["experiment=gspo_qwen2_5_0_5b_gsm8k"], "openai/gsm8k", ["accuracy", {"_target_": "format", "weight": 0.2}], 1e-6),
])
def test_algorithm_picks_its_default_task_and_tuned_settings(overrides, data, rewards, lr, tmp_path):
    run = make_run(overrides, tmp_path)
    assert run.data.datasets[0].name == data and run.algorithm.rewards == rewards
    assert run.training.learning_rate == pytest.approx(lr)


def test_group_size_is_the_seed_name_for_num_generations(tmp_path):
    run = make_run(["algorithm=gspo", "algorithm.group_size=8"], tmp_path)
    assert run.algorithm.num_generations == 8 and run.algorithm.importance_sampling_level == "sequence"


def _clip_ratio_with_one_token_off_policy(trainer) -> float:
    """Loss on 2 completions of 10 tokens whose first token is e times likelier now than when sampled."""
    import torch

    torch.manual_seed(0)
    model = trainer.model.train()
    prompt_ids = torch.randint(10, 200, (2, 6))
    completion_ids = torch.randint(10, 200, (2, 10))
    ones = torch.ones_like
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            model, torch.cat([prompt_ids, completion_ids], 1), torch.cat([ones(prompt_ids), ones(completion_ids)], 1), 10)
    shift = torch.zeros_like(logps)
    shift[:, 0] = 1.0
    inputs = {"prompt_ids": prompt_ids, "prompt_mask": ones(prompt_ids), "completion_ids": completion_ids,
              "completion_mask": ones(completion_ids), "advantages": torch.tensor([1.0, 1.0]),
              "old_per_token_logps": logps - shift, "num_items_in_batch": torch.tensor(20.0)}
    trainer._metrics["train"].clear()
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop otherwise
    trainer._compute_loss(model, inputs)
    return trainer._metrics["train"]["clip_ratio/high_mean"][-1]


def test_gspo_runs_sequence_level_importance_sampling(tmp_path):
    gspo = built_trainer(["algorithm=gspo"], tmp_path)
    assert gspo.args.importance_sampling_level == "sequence" and gspo.importance_sampling_level == "sequence"
    assert (gspo.loss_type, gspo.beta, gspo.ref_model) == ("grpo", 0.0, None)
    assert (gspo.epsilon_low, gspo.epsilon_high) == (pytest.approx(3e-4), pytest.approx(4e-4))
    assert (gspo.num_generations, gspo.args.steps_per_generation) == (4, 4)
    token = built_trainer(["algorithm=gspo", "algorithm.importance_sampling_level=token"], tmp_path / "token")
    # Sequence level: one ratio per completion (exp(1/10) > 1 + 4e-4), so every token of both is clipped.
    assert _clip_ratio_with_one_token_off_policy(gspo) == pytest.approx(1.0)
    # Token level: only the one shifted token of each completion is clipped.
    assert _clip_ratio_with_one_token_off_policy(token) == pytest.approx(0.1)


RECEIVED: list = []


def record_answers(completions, answer, **kwargs):
    """Test reward: remembers the reference answers TRL hands over, scores nothing."""
    RECEIVED.extend(answer)
    return [0.0] * len(completions)


GSM8K_ROWS = [{"question": f"Ana has {a} apples and gets {b} more. How many apples does she have?",
               "answer": f"She has {a} + {b} = {a + b} apples.\n#### {a + b}"} for a in range(2, 6) for b in range(2, 6)]


def test_gsm8k_style_file_trains_with_the_accuracy_reward(tmp_path):
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    RECEIVED.clear()
    run = make_run(["algorithm=grpo", f"data.datasets=[{{name: {data}, prompt_column: question, answer_column: answer}}]",
                    "data.eval_datasets=[]", "algorithm.beta=0.04", "training.max_steps=3", "training.logging_steps=1",
                    "algorithm.rewards=[accuracy, {_target_: test_grpo.record_answers, weight: 0.0}]"], tmp_path)
    summary = train(run)
    assert summary["steps"] == 3
    assert RECEIVED and set(RECEIVED) <= {row["answer"] for row in GSM8K_ROWS}
    for key in ("rewards/accuracy/mean", "rewards/record_answers/mean", "kl"):  # beta > 0: KL is logged
        assert len(_logged(run, key)) == 3, key
    assert summary["objective_metric"] == "eval_reward" and summary["objective"] == summary["final_metrics"]["reward"]


def wrong_length(completions, **kwargs):
    return [1.0]


def not_numbers(completions, **kwargs):
    return ["good"] * len(completions)


@pytest.mark.parametrize("reward,message", [
    ("test_grpo.wrong_length", "reward 'wrong_length' returned 1 values for 16 completions"),
    ("test_grpo.not_numbers", "reward 'not_numbers' returned a non-number at position 0: 'good'"),
])
def test_bad_reward_fails_at_its_first_call(reward, message, tmp_path):
    run = make_run(["algorithm=grpo", f"algorithm.rewards=[{reward}]", "data.eval_datasets=[]"], tmp_path)
    with pytest.raises(ConfigError) as err:
        train(run)
    assert message in str(err.value)


def test_reward_needing_a_missing_column_fails_before_the_model_loads(tmp_path):
    run = make_run(["algorithm=grpo", "algorithm.rewards=[accuracy]"], tmp_path)
    with pytest.raises(ConfigError, match="reward 'accuracy' needs a 'answer' column .* has only: prompt"):
        train(run)


def test_cli_bad_reward_output_is_one_line(tmp_path):
    (tmp_path / "my_rewards.py").write_text("def short(completions, **kwargs):\n    return [1.0]\n")
    proc = run_cli("algorithm=grpo", "algorithm.rewards=[my_rewards.short]", "data.eval_datasets=[]",
                   f"training.output_dir={tmp_path}/model", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("fai-rl: error:")]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert lines == ["fai-rl: error: reward 'short' returned 1 values for 16 completions; it must return "
                     "one number (or None) per completion"]
    assert "Traceback" not in proc.stderr
