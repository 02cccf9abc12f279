"""fai-rl installed from its wheel, not editable, used from a directory outside the repository: the configs ship
inside the package, so composing, a short training job and the seed's command line all work."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow


def source_files() -> list:
    """The files a clean clone has (tracked, and new ones not ignored)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if (REPO / line).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment holding the built wheel; its dependencies come from the test's environment."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    for name in source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(root / "dist"), str(src)],
                   check=True, capture_output=True)
    wheel = next((root / "dist").glob("fai_rl-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(pip + ["--python", str(venv / "bin" / "python"), "install", "--no-deps", str(wheel)], check=True,
                   capture_output=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], check=True, capture_output=True, text=True).stdout.strip())
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch & co., no fai_rl
    work = root / "elsewhere"
    work.mkdir()
    return venv / "bin", work, wheel


def run(bin_dir: Path, work: Path, *args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)


def test_wheel_holds_the_configs(installed):
    import zipfile

    names = zipfile.ZipFile(installed[2]).namelist()
    assert "fai_rl/conf/train.yaml" in names
    assert sum(n.endswith(".yaml") and n.startswith("fai_rl/conf/") for n in names) >= 30


def test_installed_package_composes_trains_and_takes_a_seed_recipe(installed):
    bin_dir, work, _ = installed
    where = run(bin_dir, work, "python", "-c", "import fai_rl, importlib.resources as r; "
                "print(fai_rl.__file__); print(r.files('fai_rl.conf'))")
    assert where.returncode == 0, where.stderr
    assert str(REPO) not in where.stdout and "site-packages" in where.stdout  # the installed copy, not the checkout

    job = run(bin_dir, work, "fai-rl", "--cfg", "job")
    assert job.returncode == 0, job.stderr[-2000:]
    assert "base_model_name: builtin:tiny" in job.stdout

    trained = run(bin_dir, work, "fai-rl", "training.max_steps=5", "training.logging_steps=1",
                  "training.progress_bar=false", "hydra.run.dir=runs/dpo")
    assert trained.returncode == 0, trained.stderr[-3000:]
    summary = json.loads((work / "runs" / "dpo" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 5

    recipe = work / "recipe.yaml"
    recipe.write_text((REPO / "examples" / "seed_recipes" / "dpo_tiny.yaml").read_text())
    seed = run(bin_dir, work, "fai-rl-train", "--config", str(recipe), "--num-gpus", "1", "--hardware", "cpu",
               "training.max_steps=3", "training.progress_bar=false", "hydra.run.dir=runs/seed",
               "training.output_dir=models/seed")
    assert seed.returncode == 0, seed.stderr[-3000:]
    assert json.loads((work / "runs" / "seed" / "summary.json").read_text())["steps"] == 3
