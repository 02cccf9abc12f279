"""Bad input through the real CLI: exit code 2 and one line naming the culprit and what would be valid."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, run_cli

BAD = [
    (["training.learnign_rate=1e-4"], ["training.learnign_rate", "did you mean 'learning_rate'"]),
    (["trainng.learning_rate=1e-4"], ["trainng", "did you mean 'training'"]),
    (["algorithm.bta=0.2"], ["algorithm.bta", "did you mean 'beta'"]),
    (["algorithm=dpoo"], ["unknown algorithm 'dpoo'", "dpo"]),
    (["model=qwen"], ["unknown model 'qwen'", "tiny"]),
    (["training.learning_rate=abc"], ["training.learning_rate", "must be a number"]),
    (["training.max_steps=ten"], ["training.max_steps", "integer"]),
    (["training.gradient_checkpointing=maybe"], ["training.gradient_checkpointing", "true/false"]),
    (["hardware.zero_stage=5"], ["hardware.zero_stage", "one of 0, 2, 3"]),
    (["training.learning_rate=0"], ["training.learning_rate", "> 0"]),
    (["training.learning_rate=-1e-5"], ["training.learning_rate", "> 0"]),
    (["training.per_device_train_batch_size=0"], ["training.per_device_train_batch_size", "> 0"]),
    (["data.max_prompt_length=64", "data.max_length=64"], ["data.max_prompt_length", "data.max_length"]),
    (["training.bf16=true", "training.fp16=true"], ["training.bf16", "training.fp16"]),
    (["hardware=gpu", "model.load_in_8bit=true", "model.load_in_4bit=true"], ["load_in_8bit", "load_in_4bit"]),
    (["model.load_in_4bit=true"], ["load_in_4bit", "model.lora.enabled=true"]),
    (["model.load_in_4bit=true", "model.lora.enabled=true"], ["load_in_4bit", "CUDA"]),
    (["model.lora.enabled=true", "model.lora.r=0"], ["model.lora.r", "> 0"]),
    (["training.output_dir="], ["training.output_dir", "empty"]),
    (["algorithm.loss_type=sigmoidd"], ["algorithm.loss_type", "'sigmoid'"]),
    (["algorithm=grpo", "algorithm.num_generations=3"],
     ["generation batch", "per_device_train_batch_size x training.gradient_accumulation_steps x processes",
      "16 x 1 x 1 = 16", "divisible by algorithm.num_generations (3)"]),
    (["algorithm=gspo", "algorithm.steps_per_generation=3", "training.per_device_train_batch_size=6"],
     ["algorithm.steps_per_generation", "6 x 3 x 1 = 18", "algorithm.num_generations (4)"]),
    (["algorithm=grpo", "algorithm.num_generations=1"], ["algorithm.num_generations", ">= 2"]),
    (["algorithm=gspo", "algorithm.group_size=1"], ["algorithm.group_size", ">= 2"]),
    (["algorithm=grpo", "algorithm.max_completion_length=48"],
     ["data.max_prompt_length + algorithm.max_completion_length = 32 + 48 = 80", "data.max_length (64)"]),
    (["algorithm=grpo", "algorithm.rewards=[mypkg.rewards.score]"],
     ["reward 'mypkg.rewards.score' (algorithm.rewards.0) cannot be imported", "No module named 'mypkg'"]),
    (["algorithm=grpo", "algorithm.rewards=[acuracy]"], ["unknown reward 'acuracy'", "accuracy"]),
    (["algorithm=grpo", "algorithm.loss_type=ppo"], ["algorithm.loss_type", "'dapo'"]),
    (["algorithm=gspo", "algorithm.importance_sampling_level=seq"], ["algorithm.importance_sampling_level", "'sequence'"]),
    (["algorithm=grpo", "algorithm.beta=-0.1"], ["algorithm.beta", ">= 0"]),
    (["algorithm=grpo", "data.prompt_template='{prompt'"], ["data.prompt_template", "not a valid template"]),
    (["algorithm=grpo", "tuned=null"], ["tuned=null", "~tuned"]),
]


@pytest.mark.parametrize("args,expected", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_config_exits_2_with_clear_line(args, expected, tmp_path):
    proc = run_cli(*args, f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def _imports_after(args):
    code = (
        "import sys\n"
        f"sys.argv = ['fai-rl', *{args!r}]\n"
        "from fai_rl.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'trl', 'datasets') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    return proc.stdout


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["training.learning_rate=0"],
                                  ["algorithm=nope"], ["training.learnign_rate=1"],
                                  ["algorithm=gspo", "algorithm.num_generations=3"]])
def test_compose_and_validate_import_no_torch(args):
    out = _imports_after(args)
    assert "HEAVY=\n" in out or out.rstrip().endswith("HEAVY="), out


def test_cfg_job_prints_composed_config():
    proc = run_cli("--cfg", "job", "algorithm.beta=0.3")
    assert proc.returncode == 0, proc.stderr
    assert "beta: 0.3" in proc.stdout
    assert "base_model_name: builtin:tiny" in proc.stdout


def test_help_lists_groups():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for group in ("algorithm: dpo, grpo, gspo", "model:", "data:", "hardware:"):
        assert group in proc.stdout
