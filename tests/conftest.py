"""Shared test helpers: compose the real conf tree (shrunk for speed) and run the real CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def compose(overrides=(), tmp_path: Path | None = None):
    """The composed DictConfig for `overrides`, with run_dir/output_dir inside tmp_path."""
    from fai_rl.cli.compose import compose as compose_config

    extra = []
    if tmp_path is not None:
        extra = [f"run_dir={tmp_path / 'run'}", f"training.output_dir={tmp_path / 'model'}"]
    return compose_config(list(overrides) + extra)


def make_run(overrides=(), tmp_path: Path | None = None):
    """Compose and validate: a typed RunConfig ready for train()."""
    from fai_rl.config.validate import validate

    return validate(compose(overrides, tmp_path))


def built_trainer(overrides, tmp_path: Path):
    """The TRL trainer fai-rl builds for `overrides` (model, data and arguments as a run would), not yet trained."""
    from fai_rl import algorithms
    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path
    from fai_rl.training.arguments import common_args

    run = make_run(overrides, tmp_path)
    module = algorithms.load(run.algorithm.trainer)
    path = resolve_model_path(run.model.base_model_name)
    head = algorithms.model_head(module)
    tokenizer = load_tokenizer(run.model, path, head == "image_text")
    train_ds, _ = module.load_data(run, tokenizer)
    return module.build_trainer(run, load_model(run.model, run.hardware, path, head), tokenizer, train_ds, None,
                                common_args(run))


def run_cli(*args, cwd: Path | None = None, env: dict | None = None, timeout: int = 600):
    """Run `python -m fai_rl ARGS` as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "fai_rl", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(autouse=True)
def allocator_setting_per_test():
    """fai-rl's generating CLIs set PYTORCH_CUDA_ALLOC_CONF for their process: one run in-process by a test must not
    hand it to the tests after it (where it would read as the user's setting)."""
    before = os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    yield
    if before is None:
        os.environ.pop("PYTORCH_CUDA_ALLOC_CONF", None)
    else:
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = before


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    """Run inside tmp_path so logs/, models/ and runs/ land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_collection_modifyitems(config, items):
    """`gpu` tests need CUDA: skipped with the reason elsewhere (bench/gpu/run.sh runs them on the GPU machine)."""
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_tests:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA: no GPU on this machine (bench/gpu/run.sh runs it on one)")
        for item in gpu_tests:
            item.add_marker(skip)


RESOLVER_TEST = "test_the_vllm_extra_resolves_with_the_project_pins"


def pytest_collection_finish(session):
    """Start pip's resolver for the vllm extra as soon as the test that checks it is collected: it spends minutes
    waiting on the package registry, which overlaps with the other tests instead of adding to them."""
    if not any(item.name == RESOLVER_TEST for item in session.items):
        return
    import tempfile

    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["vllm"]
    folder = Path(tempfile.mkdtemp(prefix="fai-rl-vllm-resolve-"))
    (folder / "requirements.txt").write_text("\n".join(wanted) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                             "--report", str(folder / "report.json"), "-r", str(folder / "requirements.txt")],
                            stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.txt", "w"))
    session.config.vllm_extra_resolution = (wanted, proc, folder)


def pytest_sessionfinish(session):
    started = getattr(session.config, "vllm_extra_resolution", None)
    if started:
        if started[1].poll() is None:
            started[1].kill()
            started[1].wait()
        shutil.rmtree(started[2], ignore_errors=True)


@pytest.fixture
def vllm_extra_resolution(request):
    return request.config.vllm_extra_resolution
