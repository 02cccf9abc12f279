"""`make bench` scripts run end to end on tiny settings (`--smoke`); the timed figures are bench/RESULTS.md's job."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

# The sections in two halves run side by side, one thread per job (the smoke checks flows, not timings; on 2 cores
# this saves about a third of its time); the models of bench/sized_model.py are built by the second half alone.
HALVES = [["overhead", "step_overhead", "responsiveness", "defaults"],
          ["scaling", "growth", "dynamic_sampling", "memory"]]


@pytest.mark.slow
def test_bench_smoke_writes_every_section(tmp_path):
    procs, outs = [], []
    for i, half in enumerate(HALVES):
        outs.append(tmp_path / str(i) / "RESULTS.md")
        outs[-1].parent.mkdir()
        argv = [sys.executable, "-m", "bench", "--smoke", "--threads", "1", "--only", ",".join(half),
                "--out", str(outs[-1])]
        with open(outs[-1].parent / "output.log", "w") as log:  # a file: a full pipe would stall the other half
            procs.append(subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                          env={**os.environ, "PYTHONPATH": str(REPO)}))
    try:
        for proc, out in zip(procs, outs):
            assert proc.wait(timeout=900) == 0, (out.parent / "output.log").read_text()[-4000:]
    finally:
        for proc in procs:
            proc.kill()  # the other half, when one failed
            proc.wait()
    sections = {}
    for half, out in zip(HALVES, outs):
        own = json.loads((out.parent / "results.json").read_text())["sections"]
        text = out.read_text()
        assert list(own) == half and "## Summary" in text and all(s["title"] in text for s in own.values())
        sections.update(own)
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
