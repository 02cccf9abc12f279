"""`make bench` scripts run end to end on tiny settings (`--smoke`); the timed figures are bench/RESULTS.md's job."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
def test_bench_smoke_writes_every_section(tmp_path):
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(out)], cwd=REPO, capture_output=True,
                          text=True, timeout=900, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    sections = json.loads((tmp_path / "results.json").read_text())["sections"]
    assert list(sections) == ["overhead", "step_overhead", "responsiveness", "defaults", "scaling", "growth",
                              "dynamic_sampling", "memory"]
    text = out.read_text()
    assert "## Summary" in text and all(s["title"] in text for s in sections.values())
    overhead = [row for row in sections["overhead"]["headline"] if "final metrics" in row[0]]
    assert [row[1] for row in overhead] == ["identical"] * 2  # fai-rl and plain TRL trained the very same jobs
    assert "| `fai-rl --help` |" in sections["responsiveness"]["table"]
    per_step = sections["step_overhead"]["table"]
    assert "| DPO | 10 | **" in per_step and "| GRPO | 4 | **" in per_step and "MetricsLog" in per_step
    defaults = sections["defaults"]["table"]
    assert defaults.count("fai-rl's default path") == 3 and "| DPO | TRL defaults" in defaults and "| SFT | TRL" in defaults
    assert "cpu2_ddp | 2 |" in sections["scaling"]["table"]
    assert sections["growth"]["table"].count("tok/s") == 2
    assert "| tiny_vowels | on | 2 |" in sections["dynamic_sampling"]["table"]
    assert "| cpu | dpo | **" in sections["memory"]["table"] and "| cpu | grpo | **" in sections["memory"]["table"]
