"""A user's own config dirs (--config-dir, hydra.searchpath=[file://..., pkg://...]) compose with the shipped
conf/ tree and get the same checks, did-you-mean choices and --help listing."""
from __future__ import annotations

import json
import os

from conftest import REPO, run_cli

MY_DPO = """# @package _global_
defaults:
  - override /algorithm: dpo
  - override /model: my_model

training:
  run_name: my-dpo
  max_steps: 4
  logging_steps: 2
  progress_bar: false
"""
MY_MODEL = "base_model_name: builtin:tiny\ntorch_dtype: float32\n"
MY_GSPO = """defaults:
  - grpo
  - _self_

name: my_gspo
importance_sampling_level: sequence
num_generations: 4
max_completion_length: 16   # the tiny data leaves room for 32 tokens after the prompt
"""


def user_conf(root):
    (root / "experiment").mkdir(parents=True)
    (root / "model").mkdir()
    (root / "experiment" / "my_dpo.yaml").write_text(MY_DPO)
    (root / "model" / "my_model.yaml").write_text(MY_MODEL)
    return root


def test_config_dir_experiment_trains(tmp_path):
    conf = user_conf(tmp_path / "my_conf")
    proc = run_cli("--config-dir", str(conf), "experiment=my_dpo", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", "data.eval_datasets=[]", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 4
    assert (tmp_path / "model" / "model.safetensors").exists()


def test_misspelt_user_option_lists_user_and_shipped_options(tmp_path):
    conf = user_conf(tmp_path / "my_conf")
    proc = run_cli("--config-dir", str(conf), "experiment=my_dpoo", cwd=tmp_path)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("fai-rl: error: unknown experiment 'my_dpoo' (did you mean 'my_dpo'?)"), line
    assert "my_dpo" in line and "dpo_llama3_2_3b_hh_rlhf" in line  # the user's and the shipped options together


def test_searchpath_file_model_composes(tmp_path):
    conf = user_conf(tmp_path / "my_conf")
    (conf / "model" / "my_model.yaml").write_text("base_model_name: my-org/my-model\ntorch_dtype: bfloat16\n")
    proc = run_cli(f"hydra.searchpath=[file://{conf}]", "model=my_model", "--cfg", "job", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "base_model_name: my-org/my-model" in proc.stdout and "torch_dtype: bfloat16" in proc.stdout


def test_pkg_searchpath_algorithm_builds_on_a_shipped_one(tmp_path):
    """A user's algorithm YAML composed from the shipped grpo.yaml, found in a Python package, validates."""
    algorithm = tmp_path / "userpkg" / "conf" / "algorithm"
    algorithm.mkdir(parents=True)
    (tmp_path / "userpkg" / "__init__.py").write_text("")
    (tmp_path / "userpkg" / "conf" / "__init__.py").write_text("")
    (algorithm / "my_gspo.yaml").write_text(MY_GSPO)
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    proc = run_cli("hydra.searchpath=[pkg://userpkg.conf]", "algorithm=my_gspo", "hardware.dry_run=true",
                   f"hydra.run.dir={tmp_path}/run", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "dry run (nothing trained)" in proc.stdout
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "name: my_gspo" in config and "trainer: grpo" in config and "importance_sampling_level: sequence" in config
    bad = run_cli("hydra.searchpath=[pkg://userpkg.conf]", "algorithm=my_gspo", "algorithm.num_generations=1",
                  "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run2", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "'algorithm.num_generations' must be >= 2" in bad.stderr


def test_help_lists_the_user_options(tmp_path):
    conf = user_conf(tmp_path / "my_conf")
    proc = run_cli("--config-dir", str(conf), "--help", cwd=tmp_path)
    assert proc.returncode == 0
    groups = {line.split(":")[0]: line for line in proc.stdout.splitlines() if ": " in line}
    assert "my_dpo" in groups["experiment"] and "dpo_llama3_2_3b_hh_rlhf" in groups["experiment"]
    assert "my_model" in groups["model"] and "tiny" in groups["model"]


def test_missing_config_dir_is_named(tmp_path):
    proc = run_cli("--config-dir", str(tmp_path / "nope"), "--cfg", "job", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"--config-dir: '{tmp_path / 'nope'}' is not a folder" in proc.stderr
