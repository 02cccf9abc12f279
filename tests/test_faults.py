"""make faults on a small setting: kills survived, nothing lost."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
def test_faults_survives_kills_and_loses_nothing():
    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.faults", "--kills", "2", "--steps", "160",
                           "--save-steps", "20"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "survived 2 kills" in proc.stdout and "nothing lost" in proc.stdout
    assert "final step 160 (expected 160)" in proc.stdout
