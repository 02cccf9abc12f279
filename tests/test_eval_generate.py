"""fai-rl-eval and fai-rl-generate on saved models; evaluation during training at eval_steps."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, make_run

from fai_rl.training.pipeline import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trained")
    train(make_run(["training.eval_steps=100"], tmp))
    return tmp


def _module(module, *args, cwd):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(REPO)}, timeout=600)


def test_eval_scores_trained_model_above_untrained(trained, tmp_path):
    results = {}
    for name, model in (("trained", trained / "model"), ("untrained", "builtin:tiny")):
        out = tmp_path / f"{name}.json"
        proc = _module("fai_rl.cli.evaluate", f"model.base_model_name={model}", "evaluation.reference_model=builtin:tiny",
                       f"evaluation.output={out}", f"hydra.run.dir={tmp_path}/{name}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "| eval_rewards/accuracies |" in proc.stdout
        results[name] = json.loads(out.read_text())
    assert results["trained"]["eval_rewards/accuracies"] >= 0.75
    assert results["trained"]["eval_rewards/accuracies"] > results["untrained"]["eval_rewards/accuracies"] + 0.5
    assert results["trained"]["eval_policy_preference"] > results["untrained"]["eval_policy_preference"] + 0.2


def test_eval_defaults_reference_to_the_recorded_base(trained, tmp_path):
    out = tmp_path / "eval.json"
    proc = _module("fai_rl.cli.evaluate", f"model.base_model_name={trained / 'model'}", f"evaluation.output={out}",
                   f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(out.read_text())["reference_model"] == "builtin:tiny"


def test_generate_writes_one_line_per_prompt(trained, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": f"Q: What is the opposite of {w}?\nA:"}) + "\n"
                               for w in ("hot", "big", "up", "fast", "wet")))
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"prompt": [{"role": "user", "content": "Color of snow?"}]}) + "\n")
    for source, n in ((prompts, 5), (chat, 1)):
        out = tmp_path / f"{source.stem}.out.jsonl"
        proc = _module("fai_rl.cli.generate", "--model", str(trained / "model"), "--prompts", str(source), "--out",
                       str(out), "--max-new-tokens", "4", "--batch-size", "2", "--quiet", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        lines = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(lines) == n and all("completion" in x and "prompt" in x for x in lines)


def test_generate_missing_prompt_file_is_a_clear_error(tmp_path):
    proc = _module("fai_rl.cli.generate", "--model", "builtin:tiny", "--prompts", str(tmp_path / "no.jsonl"), "--out",
                   str(tmp_path / "o.jsonl"), cwd=tmp_path)
    assert proc.returncode == 2 and "no.jsonl does not exist" in proc.stderr


def test_evaluation_during_training_is_logged(trained):
    records = [json.loads(x) for x in (trained / "run" / "metrics.jsonl").read_text().splitlines()]
    eval_steps = [r["step"] for r in records if "eval_rewards/accuracies" in r and r["step"] > 0]
    assert eval_steps[:4] == [100, 200, 300, 400]


def test_eval_on_prompt_data_scores_rewards_of_greedy_generations(tmp_path):
    train(make_run(["algorithm=grpo"], tmp_path / "grpo"))
    scores = {}
    for name, model in (("trained", tmp_path / "grpo" / "model"), ("untrained", "builtin:tiny")):
        out = tmp_path / f"{name}.json"
        proc = _module("fai_rl.cli.evaluate", "algorithm=grpo", f"model.base_model_name={model}",
                       f"evaluation.output={out}", f"hydra.run.dir={tmp_path}/{name}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        scores[name] = json.loads(out.read_text())
    assert scores["trained"]["eval_rewards/letter_share/mean"] > scores["untrained"]["eval_rewards/letter_share/mean"]
    proc = _module("fai_rl.cli.evaluate", "algorithm=grpo", "data=tiny_math", "model.base_model_name=builtin:tiny",
                   "evaluation.pass_k=2", f"evaluation.output={tmp_path}/math.json", f"hydra.run.dir={tmp_path}/math",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    math = json.loads((tmp_path / "math.json").read_text())
    assert 0.0 <= math["eval_exact_answer_accuracy"] <= 1.0 and "eval_rewards/accuracy/mean" in math
    assert 0.0 <= math["eval_pass_at_2"] <= 1.0  # evaluation.pass_k sampled completions per prompt
