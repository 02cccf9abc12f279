"""Task metrics at every evaluation of a GRPO run (greedy exact-answer accuracy, pass@k), the best checkpoint kept
and saved, and the reward-hacking alarm forced by a gamed reward."""
from __future__ import annotations

import json

import pytest
from conftest import make_run, write_jsonl
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fai_rl.errors import ConfigError
from fai_rl.evaluation.reward_alarm import diverging
from fai_rl.tracking.plots import present_panels, read_metrics
from fai_rl.training.pipeline import train

QUIET = ["training.progress_bar=false"]
SMALL_EVAL = ["+data.eval_datasets.0.max_samples=8", "evaluation.task_rows=8"]


def _first_per_step(records: list, key: str) -> dict:
    """step -> the first value of `key` logged at it (an evaluation after training repeats the last step)."""
    found = {}
    for record in records:
        if key in record:
            found.setdefault(record["step"], record[key])
    return found


def test_tiny_math_logs_task_metrics_every_eval_steps_and_saves_the_best(tmp_path):
    run = make_run(["algorithm=grpo", "data=tiny_math", "training.eval_steps=2", "training.max_steps=4",
                    "training.save_steps=2", "training.load_best_model_at_end=true", "evaluation.pass_k=2",
                    "algorithm.max_completion_length=16", "tracking.tensorboard=true",
                    "training.metric_for_best_model=pass_at_2", *SMALL_EVAL, *QUIET], tmp_path)
    summary = train(run)
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    accuracy = _first_per_step(records, "eval_exact_answer_accuracy")
    passed = _first_per_step(records, "eval_pass_at_2")
    assert sorted(accuracy) == sorted(passed) == [0, 2, 4]  # before training, then every 2 steps
    assert all(0.0 <= v <= 1.0 for v in [*accuracy.values(), *passed.values()])
    assert ("task metrics", ["eval_exact_answer_accuracy", "eval_pass_at_2"]) in present_panels({"run": records})
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()  # a tracker gets them like every other metric
    assert [e.step for e in events.Scalars("eval_pass_at_2")] == [0, 2, 4, 4]

    in_loop = {step: passed[step] for step in (2, 4)}
    best_step = max(in_loop, key=lambda step: (in_loop[step], -step))  # the first best: later ties are not better
    assert summary["metric_for_best_model"] == "eval_pass_at_2"
    assert (summary["best_step"], summary["best_value"]) == (best_step, in_loop[best_step])
    assert summary["saved_model"].startswith(f"the best one (step {best_step}")
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["best_step"] == best_step and saved["best_checkpoint"].endswith(f"checkpoint-{best_step}")
    final, best = load_file(tmp_path / "model" / "model.safetensors"), load_file(
        tmp_path / "model" / f"checkpoint-{best_step}" / "model.safetensors")
    assert final.keys() == best.keys() and all((final[k] == best[k]).all() for k in final)


def test_a_best_metric_the_run_does_not_log_stops_it_before_training(tmp_path):
    run = make_run(["algorithm=grpo", "data=tiny_math", "training.eval_steps=2", "training.max_steps=4",
                    "training.metric_for_best_model=eval_pass_at_3", "evaluation.pass_k=0", *SMALL_EVAL, *QUIET],
                   tmp_path)
    with pytest.raises(ConfigError, match=r"'training.metric_for_best_model' is 'eval_pass_at_3', which this run's "
                                          r"evaluations do not log; they log: .*eval_exact_answer_accuracy"):
        train(run)
    assert not (tmp_path / "model" / "checkpoint-2").exists()


@pytest.mark.parametrize("overrides,message", [
    (["training.load_best_model_at_end=true"], "'training.load_best_model_at_end' needs evaluations during "
                                               "training: set training.eval_steps"),
    (["training.metric_for_best_model=eval_reward", "data.eval_datasets=[]", "training.eval_steps=5"],
     "'training.metric_for_best_model' needs evaluations during training"),
    (["training.load_best_model_at_end=true", "training.eval_steps=5", "training.save_steps=10"],
     r"training.save_steps \(10\) must equal training.eval_steps \(5\)"),
    (["evaluation.alarm_evals=1"], "'evaluation.alarm_evals' must be >= 2"),
    (["evaluation.pass_k=-1"], "'evaluation.pass_k' must be >= 0"),
    (["evaluation.task_rows=0"], "'evaluation.task_rows' must be > 0"),
    (["evaluation.stop_on_alarm=true", "evaluation.alarm_metric=null"], "'evaluation.stop_on_alarm' is true but "
                                                                         "evaluation.alarm_metric is null"),
])
def test_bad_evaluation_settings_name_the_field(overrides, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        make_run(["algorithm=grpo", "data=tiny_math", *overrides], tmp_path)


def test_the_alarm_needs_a_steady_rise_and_fall():
    rising_falling = [(5, 0.1, 1.0), (10, 0.2, 1.0), (15, 0.3, 0.0)]  # a plateau, then the fall
    assert diverging(rising_falling, 3)
    assert not diverging(rising_falling, 4)  # not enough evaluations yet
    assert not diverging([(5, 0.1, 1.0), (10, 0.3, 0.5), (15, 0.2, 0.0)], 3)  # the reward fell once
    assert not diverging([(5, 0.1, 1.0), (10, 0.2, 0.5), (15, 0.3, 0.6)], 3)  # the metric rose once
    assert not diverging([(5, 0.1, 0.5), (10, 0.2, 0.5), (15, 0.3, 0.5)], 3)  # the metric never fell


ANSWER = " #### 7"


def test_a_gamed_reward_raises_the_alarm_and_stops_training(tmp_path, capsys):
    """A model taught to answer `#### 7`, then trained on a reward that pays for vowels: the reward rises while the
    greedy exact-answer accuracy falls, and the alarm names both curves (and stops the run when asked)."""
    questions = [f"Mia has {a} pens and gets {b} more. How many pens?" for a in range(2, 10) for b in range(2, 6)]
    taught = write_jsonl(tmp_path / "sft.jsonl", [{"prompt": q, "completion": ANSWER} for q in questions])
    train(make_run(["algorithm=sft", f"data.datasets=[{{name: {taught}}}]", "data.eval_datasets=[]",
                    "training.max_steps=30", "training.learning_rate=5e-3", "algorithm.packing=false", *QUIET],  # the taught
                   tmp_path / "sft"))  # model this scenario was built on: 30 steps of one padded row per example
    graded = write_jsonl(tmp_path / "math.jsonl", [{"prompt": q, "answer": ANSWER} for q in questions])
    held_out = write_jsonl(tmp_path / "held_out.jsonl", [{"prompt": q, "answer": ANSWER} for q in questions[-8:]])
    run = make_run(["algorithm=grpo", f"model.base_model_name={tmp_path / 'sft' / 'model'}",
                    f"data.datasets=[{{name: {graded}}}]", f"data.eval_datasets=[{{name: {held_out}}}]",
                    "data.max_length=96", "data.max_prompt_length=64", "algorithm.max_completion_length=12",
                    "algorithm.rewards=[letter_share]", "training.learning_rate=3e-3", "training.max_steps=40",
                    "training.eval_steps=5", "training.logging_steps=5", "training.per_device_train_batch_size=16",
                    "training.per_device_eval_batch_size=16", "evaluation.pass_k=0", "evaluation.stop_on_alarm=true",
                    *QUIET], tmp_path / "grpo")
    summary = train(run)

    accuracy = _first_per_step(read_metrics(tmp_path / "grpo" / "run" / "metrics.jsonl"), "eval_exact_answer_accuracy")
    assert accuracy[0] == 1.0  # the taught answer, before the gamed reward
    (alarm,) = summary["alarms"]
    assert (alarm["train_metric"], alarm["eval_metric"]) == ("reward", "eval_exact_answer_accuracy")
    assert "the training reward (reward) rose" in alarm["message"]
    assert "eval_exact_answer_accuracy fell" in alarm["message"]
    assert accuracy[alarm["step"]] < 1.0
    assert summary["stopped_by_alarm"] and summary["steps"] == alarm["step"] < 40
    assert json.loads((tmp_path / "grpo" / "run" / "summary.json").read_text())["alarms"] == [alarm]
    assert f"WARNING at step {alarm['step']}: possible reward hacking" in capsys.readouterr().out
    assert (tmp_path / "grpo" / "model" / "model.safetensors").exists()
