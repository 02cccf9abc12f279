"""make faults on small settings: the whole job SIGKILLed at random moments, resumed each time, nothing lost."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


def faults(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.faults", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc


@pytest.mark.slow
def test_faults_survives_kills_and_loses_nothing():
    proc = faults("--kills", "2", "--steps", "80", "--save-steps", "10")
    assert "survived 2 kills" in proc.stdout and "nothing lost" in proc.stdout
    assert "final step 80 (expected 80)" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--steps", "40", "--save-steps", "10", "hardware=cpu2_zero3"],
                                  ["--steps", "44", "--save-steps", "4", "--seed", "17", "algorithm=grpo",
                                   "hardware=cpu2_ddp"]], ids=["dpo-zero3", "grpo-ddp"])
def test_faults_on_two_processes(args):
    """The same weights as the run never killed. GRPO's kill (seed 17) comes after checkpoint 36, inside its second
    epoch (32 steps an epoch on 2 processes), where a resumed DDP run once walked epoch 0's prompt order."""
    proc = faults("--kills", "1", *args)
    assert "survived 1 kills" in proc.stdout and f"final step {args[1]} (expected {args[1]})" in proc.stdout
    assert "nothing lost" in proc.stdout
