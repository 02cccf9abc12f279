"""The seed's command line: `fai-rl-train --config RECIPE.yaml --num-gpus N [--nohup]` on the Hydra path."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO

from fai_rl.cli import seed_recipe
from fai_rl.cli.search_path import shipped

RECIPE = REPO / "examples" / "seed_recipes" / "dpo_tiny.yaml"


def seed_cli(*args, cwd, env=None):
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "fai_rl.cli.seed", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def test_recipe_becomes_overrides():
    overrides = seed_recipe.to_overrides(seed_recipe.load(str(RECIPE)), shipped())
    assert overrides[0] == "algorithm=dpo"
    assert "model.base_model_name=builtin:tiny" in overrides
    assert "training.max_steps=-1" in overrides  # the seed counts epochs
    assert not any(o.startswith("algorithm.") for o in overrides)  # GSPO keys: only for algorithm gspo
    assert seed_recipe.hardware_overrides(8, None, shipped()) == ["hardware=gpu8_zero2", "hardware.num_processes=8"]


def test_gspo_keys_go_to_the_algorithm():
    out = seed_recipe._training_overrides(shipped(), {"beta": 0, "group_size": 4, "epsilon": "3e-4", "learning_rate": 1e-6},
                                          "gspo")
    assert out == ["algorithm.beta=0", "algorithm.num_generations=4", "algorithm.epsilon='3e-4'",
                   "training.learning_rate=1e-06"]


@pytest.mark.parametrize("value", ["builtin:tiny", "a b", "it's", "c:\\dir\\", "x\\'y", "true", "3e-4", "", None,
                                   1e-6, [1, "a b", None], {"name": "x y", "split": "train"}])
def test_values_survive_hydra_parsing(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides([f"k={seed_recipe.hydra_value(value)}"])[0]
    assert parsed.value() == value


def test_unknown_recipe_key_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(RECIPE.read_text().replace("learning_rate:", "learnig_rate:"))
    proc = seed_cli("--config", str(bad), "--num-gpus", "1", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown key 'training.learnig_rate'" in proc.stderr and "did you mean 'learning_rate'" in proc.stderr


def test_num_gpus_sets_the_processes(tmp_path):
    proc = seed_cli("--config", str(RECIPE), "--num-gpus", "8", "hardware.dry_run=true",
                    f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--num_processes 8" in proc.stdout and '"stage": 2' in proc.stdout


@pytest.mark.slow
def test_seed_recipe_runs_through_the_seed_command(tmp_path):
    proc = seed_cli("--config", str(RECIPE), "--num-gpus", "1", "--hardware", "cpu", "training.max_steps=3",
                    f"training.output_dir={tmp_path}/model", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["algorithm"] == "dpo" and summary["steps"] == 3
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert list((tmp_path / "logs").glob("seed-dpo-tiny-*.log"))


@pytest.mark.slow
def test_nohup_detaches_and_logs(tmp_path):
    proc = seed_cli("--config", str(RECIPE), "--num-gpus", "1", "--hardware", "cpu", "--nohup",
                    "training.max_steps=3", f"training.output_dir={tmp_path}/model", f"hydra.run.dir={tmp_path}/run",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pid = int(proc.stdout.split("PID ")[1].split()[0])
    log = tmp_path / proc.stdout.split("log:")[1].split()[0]
    assert log.parent == tmp_path / "logs" and log.name.startswith("seed-dpo-tiny-")
    try:
        assert os.getsid(pid) == pid  # its own session: the shell's exit (SIGHUP) does not reach it
    except ProcessLookupError:
        pass  # already finished
    deadline = time.time() + 300
    while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
        time.sleep(1)
    text = log.read_text()
    assert "dpo completed after 3 steps" in text, text[-3000:]
    assert f"log:     {log}" in text  # the run reports the same file, and wrote no second one
    assert len(list((tmp_path / "logs").glob("*.log"))) == 1


def test_background_rejects_bad_input_in_the_foreground(tmp_path):
    full_env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.background", "training.learnign_rate=1"], cwd=tmp_path,
                          env=full_env, capture_output=True, text=True)
    assert proc.returncode == 2 and "did you mean 'learning_rate'" in proc.stderr
    assert not (tmp_path / "logs").exists()


def test_background_names_a_sweep_after_its_first_job():
    from fai_rl.cli.background import run_name

    assert run_name(["-m", "training.run_name=first,second", "training.learning_rate=1e-4,1e-3"]) == "first"
    assert run_name(["algorithm=dpo"]) == "fai-rl-dpo"
