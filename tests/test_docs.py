"""docs/config.md is generated from the schema (make docs), and every field it lists carries help text."""
from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import runpy
import shlex
import subprocess
import sys

import pytest
from conftest import REPO

from fai_rl import algorithms
from fai_rl.config import schema

DOCS = REPO / "docs" / "config.md"
reference = runpy.run_path(str(REPO / "docs" / "config_reference.py"))  # the generator is not shipped
DATACLASSES = [cls for _, cls in inspect.getmembers(schema, dataclasses.is_dataclass)] + [
    algorithms.load(trainer).Settings for trainer in algorithms.available()]


def test_config_reference_is_up_to_date():
    assert DOCS.is_file() and DOCS.read_text() == reference["render"](), \
        "docs/config.md is stale: run `make docs` and commit it"


def test_check_names_the_make_target(tmp_path, capsys):
    stale = tmp_path / "config.md"
    stale.write_text("old\n")
    assert reference["main"](["--check", str(stale)]) == 1
    assert f"{stale} is stale; run make docs" in capsys.readouterr().err
    assert reference["main"]([str(stale)]) == 0
    assert reference["main"](["--check", str(stale)]) == 0


@pytest.mark.parametrize("cls", DATACLASSES, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_field_has_help(cls):
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help", "").strip(), f"{cls.__name__}.{f.name} has no help text"


def test_every_algorithm_and_group_has_its_place():
    text = DOCS.read_text()
    for trainer in algorithms.available():
        assert f"## algorithm: {trainer}" in text
    assert "GSPO (`algorithm=gspo`) is `conf/algorithm/gspo.yaml` over grpo" in text
    assert "| tuned | " in text and "| hardware | " in text


ALGORITHMS_MD = REPO / "docs" / "algorithms.md"
# runs with the example module beside fai-rl's algorithms: `contract` mode prints what the checks need, `cli` runs fai-rl
EXAMPLE_RUNNER = """
import dataclasses, json, sys
import fai_rl.algorithms as registry
registry.__path__.append(sys.argv[1])
mode, args = sys.argv[2], sys.argv[3:]
if mode == "contract":
    from conftest import make_run
    from fai_rl.launch.memory import estimate
    module = registry.load("orpo")
    from pathlib import Path
    run = lambda *extra: make_run([f"hydra.searchpath=[file://{args[0]}]", "algorithm=orpo", *extra], Path(args[1]))
    print(json.dumps({
        "available": registry.available(), "problems": registry.contract_problems(module),
        "no_help": [f.name for f in dataclasses.fields(module.Settings) if not f.metadata.get("help", "").strip()],
        "reference": estimate(run()).device["reference"],
    }))
else:
    from fai_rl.cli.main import main
    sys.argv = ["fai-rl", *args]
    main()
"""


def fenced_block_after(text: str, caption: str) -> str:
    start = text.index("```", text.index(caption))
    start = text.index("\n", start) + 1
    return text[start:text.index("```", start)]


@pytest.fixture(scope="module")
def orpo_example(tmp_path_factory):
    """docs/algorithms.md's worked example put in place as the page says: the module, and the YAML in an own config
    dir."""
    text = ALGORITHMS_MD.read_text()
    root = tmp_path_factory.mktemp("example")
    (root / "algorithms").mkdir()
    (root / "algorithms" / "orpo.py").write_text(fenced_block_after(text, "`fai_rl/algorithms/orpo.py`:"))
    (root / "conf" / "algorithm").mkdir(parents=True)
    (root / "conf" / "algorithm" / "orpo.yaml").write_text(fenced_block_after(text, "`conf/algorithm/orpo.yaml`:"))
    return text, root


def _run_example(root, mode, *args, cwd=None):
    return subprocess.run([sys.executable, "-c", EXAMPLE_RUNNER, str(root / "algorithms"), mode, *args],
                          cwd=cwd or root, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'tests'}"})


def test_the_worked_example_meets_the_contract_as_written(orpo_example):
    _, root = orpo_example
    proc = _run_example(root, "contract", str(root / "conf"), str(root / "scratch"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "orpo" in found["available"] and found["problems"] == [] and found["no_help"] == []
    assert found["reference"] == 0  # ORPO keeps no reference model, as its memory_profile says


def test_the_worked_example_errors_and_trains_as_the_page_shows(orpo_example, tmp_path):
    text, root = orpo_example
    shown = re.findall(r"^\$ fai-rl (algorithm=orpo[^\n#]*?)\s*(?:#[^\n]*)?\n(fai-rl: error: [^\n]*)", text, re.M)
    assert len(shown) == 2, shown
    for args, error in shown:
        proc = _run_example(root, "cli", "--config-dir", str(root / "conf"), *args.split(),
                            f"hydra.run.dir={tmp_path}/refused", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert error.split("...")[0] in proc.stderr, (error, proc.stderr[-2000:])
    (command,) = re.findall(r"^\$ fai-rl (algorithm=orpo .*?training\.max_steps=\d+)$", text.replace("\\\n    ", ""),
                            re.M)
    proc = _run_example(root, "cli", "--config-dir", str(root / "conf"), *shlex.split(command),
                        "training.progress_bar=false", f"hydra.run.dir={tmp_path}/run",
                        f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["algorithm"] == "orpo" and summary["status"] == "completed" and summary["steps"] == 40
    assert (tmp_path / "model" / "model.safetensors").is_file()
    before, after = (summary[k]["eval_rewards/accuracies"] for k in ("eval_before", "eval_after"))
    assert after > before, (before, after)  # the page's run learns the preferences
