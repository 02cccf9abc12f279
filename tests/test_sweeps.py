"""Sweeps through the real CLI: a grid, the joblib launcher, an Optuna study that continues, failing jobs, reports."""
from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, run_cli

from fai_rl.cli.overrides import check_overrides
from fai_rl.cli.search_path import shipped, shipped_conf_dir
from fai_rl.errors import ConfigError

CONF_DIR = shipped_conf_dir()
group_options = shipped().group_options

# tiny jobs: 3 steps on 32 pairs, evaluated on 16
SHRINK = ["training.max_steps=3", "training.logging_steps=1", "+data.datasets.0.max_samples=32",
          "+data.eval_datasets.0.max_samples=16"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sweep(tmp_path, name: str, *args, expect_rc: int = 0):
    """Run `fai-rl ARGS` in tmp_path with the sweep dir tmp_path/<name>; returns (process, sweep dir)."""
    proc = run_cli(*args, *SHRINK, f"hydra.sweep.dir={tmp_path / name}", cwd=tmp_path)
    assert proc.returncode == expect_rc, proc.stderr[-3000:]
    return proc, tmp_path / name


def summaries(sweep_dir) -> dict:
    return {int(p.parent.name): json.loads(p.read_text()) for p in sweep_dir.glob("[0-9]*/summary.json")}


def overrides(job_dir) -> dict:
    given = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text())
    return dict(o.lstrip("+").split("=", 1) for o in given)


def assert_valid_png(path):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, image.shape
    assert image.std() > 0.01, f"{path} is blank"


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grid")
    proc, sweep_dir = sweep(tmp, "grid", "-m", "training.learning_rate=1e-4,2e-3", "algorithm.beta=0.1,0.3")
    return proc, sweep_dir


@pytest.mark.slow
def test_grid_runs_four_jobs_each_in_its_own_dir(grid):
    _, sweep_dir = grid
    jobs = sorted(p for p in sweep_dir.iterdir() if p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    pairs = set()
    for job in jobs:
        for name in (".hydra/config.yaml", ".hydra/overrides.yaml", "config.yaml", "metrics.jsonl", "summary.json",
                     "training_curves.png", "model/model.safetensors"):
            assert (job / name).exists(), job / name
        resolved = yaml.safe_load((job / "config.yaml").read_text())
        given = overrides(job)
        assert resolved["training"]["learning_rate"] == float(given["training.learning_rate"])
        assert resolved["algorithm"]["beta"] == float(given["algorithm.beta"])
        summary = json.loads((job / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["steps"] == 3
        assert summary["output_dir"] == str((job / "model").resolve())
        assert summary["objective"] == summary["eval_after"]["eval_rewards/accuracies"]
        pairs.add((float(given["training.learning_rate"]), float(given["algorithm.beta"])))
        assert_valid_png(job / "training_curves.png")
    assert pairs == {(lr, b) for lr in (1e-4, 2e-3) for b in (0.1, 0.3)}


@pytest.mark.slow
def test_report_table_equals_the_summaries(grid, tmp_path):
    _, sweep_dir = grid
    code = ("import sys; from fai_rl.cli.report import main; rc = main(sys.argv[1:]); "
            "print('HEAVY=' + ','.join(m for m in ('torch', 'transformers', 'trl') if m in sys.modules)); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(sweep_dir), "--out", str(tmp_path)], cwd=REPO,
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stdout, "the report must not import torch"
    expected = summaries(sweep_dir)
    rows = list(csv.DictReader(open(tmp_path / "jobs.csv")))
    assert len(rows) == 4
    for row in rows:
        summary = expected[int(row["job"])]
        assert row["status"] == "completed"
        assert float(row["eval_rewards/accuracies"]) == summary["objective"]
        for key in ("eval_rewards/margins", "eval_loss", "eval_policy_preference"):
            assert float(row[key]) == summary["eval_after"][key]
        assert overrides(sweep_dir / row["job"])["algorithm.beta"] == row["algorithm.beta"]
    objectives = [float(r["eval_rewards/accuracies"]) for r in rows]
    assert objectives == sorted(objectives, reverse=True)
    assert [r["best"] for r in rows] == ["True", "False", "False", "False"]
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")][1:]
    assert len(table) == 4 and "**best**" in table[0]
    for line, row in zip(table, rows):
        assert f"{float(row['eval_rewards/margins']):.4g}" in line.split(" | ")


@pytest.mark.slow
def test_report_pngs_are_valid_images(grid, tmp_path):
    _, sweep_dir = grid
    report = sweep_dir / "report"  # written by the end-of-sweep callback
    for name in ("objective.png", "training_curves.png", "jobs.csv", "jobs.md"):
        assert (report / name).exists(), name
    assert_valid_png(report / "objective.png")
    assert_valid_png(report / "training_curves.png")


@pytest.mark.slow
def test_joblib_launcher_runs_jobs_side_by_side(tmp_path):
    proc, sweep_dir = sweep(tmp_path, "par", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                            "algorithm.beta=0.1,0.3")
    assert "Joblib.Parallel(n_jobs=2" in proc.stdout + proc.stderr
    done = summaries(sweep_dir)
    assert sorted(done) == [0, 1] and all(s["status"] == "completed" for s in done.values())


@pytest.mark.parametrize("launcher,target", [("submitit_local", "LocalLauncher"), ("submitit_slurm", "SlurmLauncher"),
                                             ("joblib", "JoblibLauncher")])
def test_launcher_configs_compose(launcher, target):
    proc = run_cli(f"hydra/launcher={launcher}", "--cfg", "hydra")
    assert proc.returncode == 0, proc.stderr
    launcher_cfg = yaml.safe_load(proc.stdout)["hydra"]["launcher"]
    assert launcher_cfg["_target_"].endswith(target)


@pytest.mark.slow
def test_failing_jobs_are_recorded_and_the_others_kept(tmp_path):
    # job 1: a trainer error (unknown optimizer); jobs 2, 3: a config error (beta must be > 0)
    proc, sweep_dir = sweep(tmp_path, "fail", "-m", "algorithm.beta=0.2,-1", "training.optim=adamw_torch,no_such_optim",
                            expect_rc=1)
    done = summaries(sweep_dir)
    assert sorted(done) == [0, 1, 2, 3]
    assert done[0]["status"] == "completed" and (sweep_dir / "0" / "model" / "model.safetensors").exists()
    assert done[1]["status"] == "failed" and "no_such_optim" in done[1]["error"]
    for num in (2, 3):
        assert done[num]["status"] == "failed" and done[num]["error"].startswith("ConfigError: 'algorithm.beta'")
    assert "Traceback" in (sweep_dir / "1" / "error.txt").read_text()
    for num in (1, 2, 3):
        assert f"job #{num} failed" in proc.stderr
    assert "3 of 4 jobs did not complete" in proc.stderr

    # the report of this sweep, with one more job still running (no summary yet)
    shutil.copytree(sweep_dir / "0", sweep_dir / "4")
    (sweep_dir / "4" / "summary.json").unlink()
    from fai_rl.sweeps.report import build

    report = build(sweep_dir, tmp_path / "report")
    status = {row["job"]: row["status"] for row in report.rows}
    assert status == {0: "completed", 1: "failed", 2: "failed", 3: "failed", 4: "unfinished"}
    assert report.rows[0]["job"] == 0 and report.rows[0]["best"]
    assert next(r for r in report.rows if r["job"] == 4)["steps"] == 3  # progress read from metrics.jsonl
    assert_valid_png(report.files["curves_png"])


@pytest.mark.slow
def test_optuna_study_picks_the_best_job_and_continues(tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    args = ["sweep=dpo_optuna", "training.objective_metric=eval_rewards/margins", f"hydra.sweeper.storage={storage}"]
    _, first = sweep(tmp_path, "opt1", *args, "hydra.sweeper.n_trials=3")
    done = summaries(first)
    assert len(done) == 3
    margins = {n: s["eval_after"]["eval_rewards/margins"] for n, s in done.items()}
    assert all(s["objective"] == margins[n] for n, s in done.items())
    best = max(margins, key=margins.get)
    result = yaml.safe_load((first / "optimization_results.yaml").read_text())
    assert result["best_value"] == pytest.approx(margins[best])
    assert result["best_params"] == {k: pytest.approx(float(v)) for k, v in overrides(first / str(best)).items()
                                     if k in ("training.learning_rate", "algorithm.beta")}
    ranked = list(csv.DictReader(open(first / "report" / "jobs.csv")))  # the report agrees (direction from Optuna)
    assert ranked[0]["job"] == str(best) and ranked[0]["best"] == "True"

    _, second = sweep(tmp_path, "opt2", *args, "hydra.sweeper.n_trials=1")  # a second invocation continues the study
    study = optuna.load_study(study_name="dpo_lr_beta", storage=storage)
    assert len(study.trials) == 4 and all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    earlier = [t.params for t in study.trials[:3]]
    assert all(t.params not in earlier for t in study.trials[3:]), "a continued study re-drew its first trials"
    everything = [s["objective"] for s in [*done.values(), *summaries(second).values()]]
    assert study.best_value == pytest.approx(max(everything))


def test_make_sweep_and_report_targets():
    dry = subprocess.run(["make", "-n", "sweep", "SWEEP=dpo_optuna", "ARGS=hydra.sweeper.n_trials=5"], cwd=REPO,
                         capture_output=True, text=True)
    assert "fai-rl -m sweep=dpo_optuna hydra.sweeper.n_trials=5" in dry.stdout
    grid = subprocess.run(["make", "-n", "sweep", "ARGS=algorithm.beta=0.1,0.3"], cwd=REPO, capture_output=True,
                          text=True)
    assert "fai-rl -m algorithm.beta=0.1,0.3" in grid.stdout
    report = subprocess.run(["make", "-n", "report", "DIR=multirun/x"], cwd=REPO, capture_output=True, text=True)
    assert "fai_rl.cli.report multirun/x" in report.stdout
    helps = subprocess.run(["make", "help"], cwd=REPO, capture_output=True, text=True).stdout
    assert "make sweep" in helps and "make report" in helps


@pytest.mark.slow
def test_failing_optuna_trials_get_the_worst_value_and_the_study_goes_on(tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    _, sweep_dir = sweep(tmp_path, "optfail", "sweep=dpo_optuna", "hydra.sweeper.n_trials=2",
                         f"hydra.sweeper.storage={storage}", "training.per_device_train_batch_size=0", expect_rc=1)
    assert [s["status"] for s in summaries(sweep_dir).values()] == ["failed", "failed"]
    study = optuna.load_study(study_name="dpo_lr_beta", storage=storage)
    assert [t.value for t in study.trials] == [-math.inf, -math.inf]


def _sweep_algorithm(name: str):
    """The algorithm a conf/sweep config selects (None: the default)."""
    defaults = yaml.safe_load((CONF_DIR / "sweep" / f"{name}.yaml").read_text()).get("defaults", [])
    key = "override /algorithm"
    return next((d[key] for d in defaults if isinstance(d, dict) and key in d), None)


@pytest.mark.parametrize("name", group_options("sweep"))
def test_sweep_config_composes_with_a_valid_search_space(name, tmp_cwd):
    from conftest import make_run
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides

    from fai_rl.cli.compose import compose

    algorithm = _sweep_algorithm(name)
    if algorithm and algorithm not in group_options("algorithm"):
        pytest.skip(f"conf/sweep/{name}.yaml needs algorithm={algorithm}, not in this checkout yet")
    cfg = compose([f"sweep={name}", f"run_dir={tmp_cwd}/run"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert "optuna" in sweeper._target_ and sweeper.direction in ("maximize", "minimize")
    assert sweeper.storage.startswith("sqlite:///") and sweeper.study_name and sweeper.n_trials > 0
    assert isinstance(sweeper.sampler.seed, int)
    assert cfg.training.objective_metric
    params = {str(k): str(v) for k, v in sweeper.params.items()}
    check_overrides([f"{k}={v}" for k, v in params.items()], shipped())  # every swept key exists in the schema
    distributions, fixed = create_params_from_overrides([f"{k}={v}" for k, v in params.items()])
    assert set(distributions) == set(params) and not fixed
    assert "Log" in type(distributions["training.learning_rate"]).__name__
    run = make_run([f"sweep={name}"], tmp_cwd)
    assert run.training.objective_metric == cfg.training.objective_metric


def test_objective_metric_named_but_not_logged_is_a_clear_error():
    from fai_rl.tracking.summary import pick_objective

    assert pick_objective("eval_loss", True, {"eval_loss": 0.5}, {"loss": 0.7}) == 0.5
    assert pick_objective("loss", True, {"eval_loss": 0.5}, {"loss": 0.7}) == 0.7
    assert pick_objective("eval_reward", True, {}, {"reward": 0.4}) == 0.4  # no eval data: the training value
    assert pick_objective("eval_rewards/accuracies", False, {}, {"loss": 0.7}) is None
    with pytest.raises(ConfigError, match=r"training.objective_metric.*'eval_rewrds'.*logged: eval_loss, loss$"):
        pick_objective("eval_rewrds", True, {"eval_loss": 0.5}, {"loss": 0.7})


@pytest.mark.slow
@pytest.mark.parametrize("algorithm,metric", [("reward", "eval_accuracy"), ("kto", "eval_rewards/margins")])
def test_a_sweep_of_the_newer_algorithms_reports_their_own_objective(algorithm, metric, tmp_path):
    """A learning-rate grid of reward-model training or KTO: each job optimises its algorithm's metric and the
    report ranks the jobs by it."""
    _, sweep_dir = sweep(tmp_path, algorithm, "-m", f"algorithm={algorithm}", "training.learning_rate=1e-4,3e-3")
    done = summaries(sweep_dir)
    assert sorted(done) == [0, 1]
    for summary in done.values():
        assert summary["status"] == "completed" and summary["algorithm"] == algorithm
        assert summary["objective_metric"] == metric and summary["objective"] == summary["eval_after"][metric]
    rows = list(csv.DictReader(open(sweep_dir / "report" / "jobs.csv")))
    assert {float(r[metric]) for r in rows} == {s["objective"] for s in done.values()}
    best = max(done, key=lambda n: done[n]["objective"])
    assert [r["job"] for r in rows if r["best"] == "True"] == [str(best)]
