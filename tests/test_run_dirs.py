"""Every run gets its own run dir and model dir, claimed atomically, so any number of runs can start at once; a
run that stops before writing its model leaves no empty model dir behind."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest
from conftest import REPO, run_cli

from fai_rl.cli.compose import claim_dir


def test_claim_dir_adds_a_suffix_when_taken(tmp_path):
    base = str(tmp_path / "runs" / "name" / "2026-01-01_00-00-00")
    assert claim_dir(base) == base
    assert claim_dir(base) == base + "-2"
    assert claim_dir(base) == base + "-3"


def test_concurrent_claims_never_share_a_folder(tmp_path):
    base = str(tmp_path / "runs" / "same-second")
    with ProcessPoolExecutor(4) as pool:
        claimed = list(pool.map(claim_dir, [base] * 16))
    assert len(set(claimed)) == 16 and all(os.path.isdir(c) for c in claimed)


def test_data_error_leaves_no_empty_model_dir(tmp_path):
    proc = run_cli("data.datasets=[{name: nope.jsonl}]", "data.eval_datasets=[]", cwd=tmp_path)
    assert proc.returncode == 2 and "nope.jsonl does not exist" in proc.stderr
    assert not (tmp_path / "models" / "fai-rl-dpo").exists()
    assert list((tmp_path / "runs" / "fai-rl-dpo").glob("*/config.yaml"))  # the run dir keeps what was run


@pytest.mark.slow
def test_runs_started_together_write_to_their_own_dirs(tmp_path):
    args = [sys.executable, "-m", "fai_rl", "training.max_steps=3", "training.logging_steps=1",
            "data.eval_datasets=[]", "training.progress_bar=false"]
    procs = [subprocess.Popen(args, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "runs" / "fai-rl-dpo").glob("*/summary.json")]
    assert len(summaries) == 3
    assert len({s["run_dir"] for s in summaries}) == 3 and len({s["output_dir"] for s in summaries}) == 3
    assert all((tmp_path / s["output_dir"] / "model.safetensors").exists() for s in summaries)
