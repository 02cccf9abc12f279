"""Defaults that fit the model: the tiny demo's settings reach the tiny model only; every other model starts from
the schema's real-model defaults; --cfg job and the dry run say which apply; two warnings for settings that would
wreck or cut a real run."""
from __future__ import annotations

import yaml
from conftest import make_run, run_cli

from fai_rl.data.lengths import truncation_warning
from fai_rl.launch.preflight import learning_rate_warning
from fai_rl.models.tiny import tiny_model_path

DEMO = {"learning_rate": 5.0e-4, "max_steps": 400, "per_device_train_batch_size": 8}


def composed(*args, cwd):
    proc = run_cli("--cfg", "job", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("fai-rl: defaults:")]
    assert len(lines) == 1, proc.stderr[-2000:]
    return yaml.safe_load(proc.stdout), lines[0]


def test_the_default_job_keeps_the_tiny_demo(tmp_path):
    cfg, line = composed(cwd=tmp_path)
    assert {k: cfg["training"][k] for k in DEMO} == DEMO
    assert (cfg["data"]["max_length"], cfg["data"]["max_prompt_length"]) == (64, 48)
    assert "tiny model's demo settings" in line and "conf/demo/tiny.yaml" in line


def test_real_models_get_real_model_defaults(tmp_path):
    for args in (["model=qwen2_5_0_5b"], ["model.base_model_name=meta-llama/Llama-3.2-3B-Instruct"]):
        cfg, line = composed(*args, cwd=tmp_path)
        t, d = cfg["training"], cfg["data"]
        assert t["learning_rate"] <= 1e-5 and d["max_length"] >= 512, (args, t, d)
        assert (t["max_steps"], t["per_device_train_batch_size"], t["gradient_accumulation_steps"]) == (-1, 1, 16)
        assert "real-model defaults" in line and "demo settings are off" in line, (args, line)


def test_grpo_on_a_real_model_inherits_no_tiny_task(tmp_path):
    cfg, _ = composed("algorithm=grpo", "model=qwen2_5_0_5b", "data=gsm8k", cwd=tmp_path)
    a, t = cfg["algorithm"], cfg["training"]
    assert a["rewards"] == ["accuracy"] and a["max_completion_length"] == 256  # not letter_share, not 16
    assert t["learning_rate"] == 1.0e-6 and t["max_steps"] == -1
    tiny_task, _ = composed("algorithm=grpo", cwd=tmp_path)
    assert tiny_task["algorithm"]["rewards"] == ["letter_share"]  # the tiny model keeps its demo task


def test_a_model_trained_from_the_tiny_one_keeps_the_demo(tmp_path):
    run = make_run([f"model.base_model_name={tiny_model_path()}"], tmp_path)
    assert (run.training.learning_rate, run.data.max_length) == (5.0e-4, 64)
    real = make_run(["model.base_model_name=meta-llama/Llama-3.2-3B-Instruct"], tmp_path)
    assert (real.training.learning_rate, real.data.max_length) == (1.0e-6, 2048)


def test_a_learning_rate_too_high_for_the_model_warns_and_runs(tmp_path):
    proc = run_cli("model=qwen2_5_0_5b", "training.learning_rate=5e-4", "hardware.dry_run=true",
                   f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [ln for ln in proc.stderr.splitlines() if "warning: training.learning_rate" in ln]
    assert len(warnings) == 1 and "494.0M-parameter model" in warnings[0] and "above 0.0001" in warnings[0], warnings
    assert "# defaults: the schema's real-model defaults" in proc.stdout
    run = make_run(["model=qwen2_5_0_5b"], tmp_path)
    assert learning_rate_warning(run) is None  # 1e-6: fine
    lora = make_run(["model=qwen2_5_0_5b", "training.learning_rate=2e-4", "model.lora.enabled=true"], tmp_path)
    assert learning_rate_warning(lora) is None  # a usual LoRA rate
    assert learning_rate_warning(make_run([], tmp_path)) is None  # the tiny model: its demo rate is right for it


def test_a_max_length_that_cuts_most_rows_warns(tmp_path):
    from fai_rl import algorithms
    from fai_rl.models.loading import load_tokenizer, resolve_model_path

    run = make_run([], tmp_path)
    tokenizer = load_tokenizer(run.model, resolve_model_path(run.model.base_model_name))
    train, _ = algorithms.load("dpo").load_data(run, tokenizer)
    assert truncation_warning(train, tokenizer, run.data.max_length) is None  # the demo's 64 fits its data
    line = truncation_warning(train, tokenizer, 8)
    assert line.startswith("warning: data.max_length=8 is shorter than 64 of the first 64 training rows"), line
