"""FAI-RL's training recipes as they are written today (every field of every section), through the seed's
command line: each maps onto fai-rl's config, and a dry run shows the mapped values."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

DEEPSPEED = {"zero_optimization": {"stage": 1}, "bf16": {"enabled": "auto"}, "train_batch_size": "auto",
             "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
             "gradient_clipping": "auto"}


def recipe(algorithm: str, deepspeed_json: str) -> dict:
    """One recipe with every field FAI-RL's recipes carry (per algorithm where they differ)."""
    datasets = [{"name": "builtin:tiny_prefs", "split": "train", "prompt_column": "prompt",
                 "s3_endpoint_url": "http://127.0.0.1:9000", "s3_region": "us-east-1"}]
    if algorithm == "sft":
        datasets[0].update(dataset_columns=["prompt", "chosen"])
    elif algorithm == "dpo":
        datasets[0].update(chosen_column="chosen", rejected_column="rejected")
    else:
        datasets = [{"name": "builtin:tiny_vowels", "split": "train", "s3_endpoint_url": None, "s3_region": None}]
    training = {"algorithm": algorithm, "output_dir": "models/recipe", "run_name": f"recipe-{algorithm}",
                "per_device_train_batch_size": 8, "gradient_accumulation_steps": 2, "learning_rate": 1.0e-5,
                "num_train_epochs": 1, "warmup_steps": 5, "logging_steps": 5, "save_steps": 100, "eval_steps": 50,
                "bf16": True, "fp16": False, "gradient_checkpointing": True, "dataloader_num_workers": 0,
                "dataloader_pin_memory": False, "dataloader_drop_last": True, "save_only_model": True,
                "prediction_loss_only": True, "deepspeed_config": deepspeed_json}
    if algorithm in ("grpo", "gspo"):
        training.update(num_generations=8)
    if algorithm == "gspo":
        training.update(beta=0, group_size=8, epsilon=3e-4, epsilon_high=4e-4, steps_per_generation=2,
                        importance_sampling_level="sequence")
    return {
        "model": {"base_model_name": "builtin:tiny", "torch_dtype": "bfloat16", "low_cpu_mem_usage": True,
                  "load_in_8bit": False, "load_in_4bit": True, "use_flash_attention": False,
                  "use_lora": True, "lora_r": 8, "lora_alpha": 16, "lora_dropout": 0.1,
                  "lora_target_modules": ["q_proj", "v_proj"], "lora_bias": "none",
                  "bnb_4bit_compute_dtype": "bfloat16", "bnb_4bit_quant_type": "nf4",
                  "bnb_4bit_use_double_quant": True, "s3_endpoint_url": None, "s3_region": None},
        "data": {"datasets": datasets, "max_length": 64, "max_prompt_length": 32, "remove_unused_columns": False,
                 **({"system_prompt": "Question: {prompt}\nAnswer: {chosen}"} if algorithm == "sft" else {})},
        "training": training,
        "wandb": {"enabled": False, "project": "p", "entity": "e", "name": "n", "tags": ["t"],
                  "api_key": "secret-key-123", "base_url": "http://127.0.0.1:8080"},
        "s3": {"enabled": False, "bucket": "b", "prefix": "runs", "region": "us-east-1",
               "endpoint_url": "http://127.0.0.1:9000", "upload_checkpoints": True, "upload_final_model": True,
               "delete_local_after_upload": False},
    }


def seed(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fai_rl.cli.seed", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("algorithm", ["sft", "dpo", "grpo", "gspo"])
def test_every_field_maps_and_the_dry_run_shows_it(algorithm, tmp_path):
    (tmp_path / "ds.json").write_text(json.dumps(DEEPSPEED))
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe(algorithm, "ds.json")))
    proc = seed("--config", str(path), "--num-gpus", "8", "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "secret-key-123" not in proc.stdout + proc.stderr
    assert "8 process(es) on cuda, ZeRO stage 1" in proc.stdout  # the user's DeepSpeed JSON decides the stage
    assert "LoRA r=8 alpha=16 dropout=0.1 bias=none targets=q_proj,v_proj" in proc.stdout
    assert "4-bit nf4 (compute bfloat16, double quant on)" in proc.stdout
    assert f"yours, {tmp_path / 'ds.json'}" in proc.stdout
    ds = json.loads((tmp_path / "run" / "deepspeed.json").read_text())
    assert ds["zero_optimization"] == {"stage": 1} and ds["train_micro_batch_size_per_gpu"] == 8
    assert ds["gradient_accumulation_steps"] == 2 and ds["train_batch_size"] == 128 and ds["bf16"]["enabled"] is True
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "secret-key-123" not in config and "base_url: http://127.0.0.1:8080" in config
    assert not list((tmp_path / "run").rglob("*.yaml")) or not any(
        "secret-key-123" in p.read_text() for p in (tmp_path / "run").rglob("*.yaml"))
    if algorithm == "gspo":
        assert "importance_sampling_level: sequence" in config and "num_generations: 8" in config


@pytest.mark.parametrize("change,expected", [
    ({"s3": {"enabled": True, "bucket": ""}}, "the recipe's s3 section is enabled but names no bucket"),
    ({"s3": {"bucketname": "x"}}, "unknown key 's3.bucketname' in the recipe (did you mean 'bucket'?)"),
    ({"training": {"deepspeed_config": "nope.json"}}, "'hardware.deepspeed_config' "),
    ({"model": {"lora_rank": 8}}, "model.lora_rank"),
])
def test_recipe_problems_are_named(change, expected, tmp_path):
    data = recipe("dpo", "ds.json")
    (tmp_path / "ds.json").write_text(json.dumps(DEEPSPEED))
    for section, values in change.items():
        data[section] = {**data[section], **values} if section != "s3" or "enabled" in values else values
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = seed("--config", str(path), "--num-gpus", "8", "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                cwd=tmp_path)
    assert proc.returncode == 2
    assert expected in proc.stderr, proc.stderr[-2000:]


def test_deepspeed_json_problems_are_named(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "stage3.json").write_text(json.dumps({"zero_optimization": {"stage": 3}}))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for value, expected in [("bad.json", "is not valid JSON"),
                            ("stage3.json", "sets ZeRO stage 3 but hardware.zero_stage is 2")]:
        proc = subprocess.run([sys.executable, "-m", "fai_rl", "hardware=cpu2_zero2",
                               f"hardware.deepspeed_config={value}", "hardware.dry_run=true",
                               f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and expected in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
def test_dpo_recipe_with_lora_keys_trains_on_cpu_and_saves_an_adapter(tmp_path):
    pairs = [json.loads(line) for line in (REPO / "fai_rl/data/bundled/tiny_prefs/train.jsonl").read_text().splitlines()]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[:64]))
    data = recipe("dpo", "unused")
    data["training"].pop("deepspeed_config")
    data["model"].update(load_in_4bit=False, torch_dtype="float32", lora_target_modules=["all-linear"])
    data["data"]["datasets"] = [{"name": str(tmp_path / "pairs.jsonl")}]
    data["training"].update(bf16=False, gradient_checkpointing=False, per_device_train_batch_size=4,
                            gradient_accumulation_steps=1, output_dir=str(tmp_path / "model"))
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = seed("--config", str(path), "--num-gpus", "1", "--hardware", "cpu", "training.max_steps=3",
                "training.progress_bar=false", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "model" / "adapter_model.safetensors").exists()
    adapter = json.loads((tmp_path / "model" / "adapter_config.json").read_text())
    assert adapter["r"] == 8 and adapter["lora_alpha"] == 16


def test_fai_rl_command_line_sets_recipe_keys_before_translating(tmp_path):
    """`fai-rl-train --recipe R --num-gpus 1 data.datasets[0].name=... model.use_lora=false training.X=...` as
    FAI-RL's recipes README writes it; fai-rl's own overrides (hardware.dry_run=true) still pass through."""
    (tmp_path / "ds.json").write_text(json.dumps(DEEPSPEED))
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe("dpo", "ds.json")))
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "chosen": "yes", "rejected": "no"}) + "\n"
                            for i in range(16)))
    proc = seed("--recipe", str(path), "--num-gpus", "1", "--hardware", "cpu", f"data.datasets[0].name={data}",
                "model.use_lora=false", "model.load_in_4bit=false", "training.learning_rate=2e-5",
                "training.output_dir=models/my_model", "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["data"]["datasets"][0]["name"] == str(data)
    assert config["data"]["datasets"][0]["chosen_column"] == "chosen"  # the rest of the entry is the recipe's
    assert config["model"]["lora"]["enabled"] is False and config["training"]["learning_rate"] == 2e-5
    assert config["training"]["output_dir"] == "models/my_model"
    bad = seed("--recipe", str(path), "--num-gpus", "1", "data.datasets[2].name=x", cwd=tmp_path)
    assert bad.returncode == 2 and "data.datasets has 1 entries; use an index below 1" in bad.stderr, bad.stderr


def test_a_recipe_gets_fai_rl_defaults_and_hears_of_unused_keys(tmp_path):
    """A FAI-RL GRPO recipe for a real model that leaves the training keys out composes with FAI-RL's defaults
    (max_completion_length = max_length - max_prompt_length), never the tiny demo's task; keys that change
    nothing here are listed in one line."""
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump({
        "model": {"base_model_name": "meta-llama/Llama-3.2-3B-Instruct", "low_cpu_mem_usage": True},
        "data": {"datasets": [{"name": "builtin:tiny_vowels", "split": "train"}]},
        "training": {"algorithm": "grpo", "epsilon_high": 4e-4}}))  # a GSPO key: FAI-RL reads it for gspo only
    proc = seed("--recipe", str(path), "--num-gpus", "1", "--hardware", "cpu", "hardware.dry_run=true",
                f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    t, d, a = config["training"], config["data"], config["algorithm"]
    assert (t["learning_rate"], t["per_device_train_batch_size"], t["gradient_accumulation_steps"]) == (1e-6, 1, 16)
    assert (t["warmup_steps"], t["gradient_checkpointing"], t["max_steps"]) == (50, True, -1)
    assert (d["max_length"], d["max_prompt_length"], a["max_completion_length"]) == (512, 256, 256)
    assert a["rewards"] == ["accuracy"] and a["epsilon_high"] is None  # no letter_share; the GSPO key unused
    (line,) = [ln for ln in proc.stdout.splitlines() if "recipe keys not used" in ln]
    assert "training.epsilon_high" in line and "model.low_cpu_mem_usage" in line, line
