"""The layout's rules, checked on the source: no import cycle between fai-rl's modules (imports inside functions
included), light packages free of heavy libraries, fai-rl imports at the top unless a comment says why not,
no `global` state, and every algorithm module against the written contract."""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
from conftest import REPO, make_run

from fai_rl import algorithms
from fai_rl.algorithms import contract_problems

PACKAGE = REPO / "fai_rl"
LIGHT = ("cli", "config", "launch", "sweeps")
HEAVY_LIBRARIES = {"torch", "transformers", "trl", "datasets", "peft", "deepspeed", "accelerate"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_only(node) -> bool:
    """`if TYPE_CHECKING:` (or typing.TYPE_CHECKING): its imports are read by type checkers and never run."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path, name: str) -> list:
    """(imported module, line, inside a function) for every import statement of one file that runs (imports under
    `if TYPE_CHECKING:` never do)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if type_checking_only(child):
                continue
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                found.append((base, child.lineno, in_function))
                found.extend((f"{base}.{a.name}", child.lineno, in_function) for a in child.names)
            visit(child, nested)

    visit(tree, False)
    return found


def import_graph(root: Path) -> dict:
    """module -> the modules of the same package it imports (a submodule import also runs its packages)."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        edges = set()
        for target, _, _ in imports(path, name):
            parts = target.split(".")
            for cut in range(1, len(parts) + 1):
                prefix = ".".join(parts[:cut])
                if prefix in files and prefix != name and not name.startswith(prefix + "."):
                    edges.add(prefix)
        graph[name] = edges
    return graph


def find_cycle(graph: dict):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = walk(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = walk(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph(PACKAGE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle(tmp_path):
    """The same check on a package with a cycle through a function-level import (the kind that used to hide)."""
    pkg = tmp_path / "pkg"
    (pkg / "launch").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "launch" / "__init__.py").write_text("from pkg.train import run\n")
    (pkg / "train.py").write_text("def run():\n    from pkg.launch import plan  # inside a function\n")
    cycle = find_cycle(import_graph(pkg))
    assert cycle is not None and set(cycle) == {"pkg.launch", "pkg.train"}


def test_type_only_imports_make_no_cycle(tmp_path):
    """An import under `if TYPE_CHECKING:` never runs, so it cannot close a cycle; the same import outside does."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "spec.py").write_text("from pkg import registry\n")
    guarded = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.spec import Spec\n"
    (pkg / "registry.py").write_text(guarded)
    assert find_cycle(import_graph(pkg)) is None
    (pkg / "registry.py").write_text("from pkg.spec import Spec\n")
    assert set(find_cycle(import_graph(pkg))) == {"pkg.spec", "pkg.registry"}


@pytest.mark.parametrize("package", LIGHT)
def test_light_packages_import_no_heavy_library(package):
    for path in (PACKAGE / package).rglob("*.py"):
        for target, line, _ in imports(path, module_name(path, PACKAGE)):
            assert target.split(".")[0] not in HEAVY_LIBRARIES, f"{path.relative_to(REPO)}:{line} imports {target}"


def test_function_level_imports_of_fai_rl_say_why():
    """fai-rl's own modules are imported at the top, unless a comment on the import (or just above it) says why."""
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().splitlines()
        for target, line, in_function in imports(path, module_name(path, PACKAGE)):
            if not in_function or not target.startswith("fai_rl"):
                continue
            block = line - 1
            while block > 0 and lines[block - 1].strip().startswith(("from ", "import ")):
                block -= 1  # the comment may stand above the first import of a group
            said = any("#" in text for text in lines[block - 1 if block else 0: line])
            assert said, f"{path.relative_to(REPO)}:{line}: function-level import of {target} without a comment"


def test_no_global_state():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            assert not isinstance(node, ast.Global), f"{path.relative_to(REPO)}:{node.lineno}: global statement"


@pytest.mark.parametrize("trainer", algorithms.available())
def test_algorithm_modules_meet_the_contract(trainer):
    assert contract_problems(algorithms.load(trainer)) == []


def test_the_contract_names_what_is_missing():
    import types

    module = types.ModuleType("half_done")
    module.OBJECTIVE = "eval_loss"
    problems = contract_problems(module)
    assert "Settings must be a type" in problems
    assert any(p.startswith("function build_trainer(run, model, tokenizer") for p in problems)


@pytest.mark.parametrize("overrides", [["algorithm=dpo"], ["algorithm=grpo", "algorithm.group_size=4"],
                                       ["algorithm=gspo"]], ids=lambda o: " ".join(o))
def test_check_validates_without_changing_the_run(overrides, tmp_path):
    run = make_run(overrides, tmp_path)
    before = copy.deepcopy(run)
    algorithms.load(run.algorithm.trainer).check(run)
    assert run == before


def test_every_package_ships_in_the_wheel():
    """pyproject.toml lists the packages explicitly (conf/ ships as fai_rl.conf): a new folder must be listed."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {module_name(p, PACKAGE) for p in PACKAGE.rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


def test_exception_classes_live_in_one_module_with_unique_names():
    """Every exception fai-rl defines is in fai_rl/errors.py (with its exit code), each name once."""
    names = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            bases = [getattr(b, "id", getattr(b, "attr", "")) for b in getattr(node, "bases", [])]
            if isinstance(node, ast.ClassDef) and any(b.endswith(("Error", "Exception", "Stopped", "Failed",
                                                                  "Interrupted")) for b in bases):
                assert path == PACKAGE / "errors.py", f"{path.relative_to(REPO)}:{node.lineno}: exception " \
                                                      f"{node.name} outside fai_rl/errors.py"
                names.append(node.name)
    assert len(names) == len(set(names)) and {"ConfigError", "RunFailed", "Interrupted"} <= set(names)


RUN_DIR_FILES = ("config.yaml", "deepspeed.json", "metrics.jsonl", "summary.json", "training_curves.png",
                 "eval.json", "error.txt", "vllm_server.log", "overrides.yaml")


def test_the_run_directory_files_are_named_once():
    """The names of the run directory's files are string literals in fai_rl/config/run_files.py only (the sweep
    report's overlay of every job's curves takes a run's curves name on purpose)."""
    exempt = {(PACKAGE / "sweeps" / "report.py", "training_curves.png")}
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "config" / "run_files.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in RUN_DIR_FILES \
                    and (path, node.value) not in exempt:
                pytest.fail(f"{path.relative_to(REPO)}:{node.lineno}: '{node.value}' is named outside "
                            "fai_rl/config/run_files.py; use run_files(run) or RunFiles(folder)")


def algorithm_names() -> set:
    return set(algorithms.available()) | {p.stem for p in (REPO / "conf" / "algorithm").glob("*.yaml")}


def test_no_algorithm_name_is_compared_outside_algorithms():
    """Shared code asks the algorithm (fai_rl.algorithms._contract) instead of checking which one it is."""
    names = algorithm_names()
    for path in PACKAGE.rglob("*.py"):
        if (PACKAGE / "algorithms") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                found = [o.value for o in operands if isinstance(o, ast.Constant) and o.value in names]
                assert not found, f"{path.relative_to(REPO)}:{node.lineno}: compares with algorithm name {found[0]}"


def test_storage_is_the_lowest_layer():
    """storage/ (object storage, caches, hub access, checkpoint folders) imports no other fai-rl package but errors."""
    for path in (PACKAGE / "storage").rglob("*.py"):
        for target, line, _ in imports(path, module_name(path, PACKAGE)):
            if target.startswith("fai_rl."):
                assert target.startswith(("fai_rl.storage", "fai_rl.errors")), \
                    f"{path.relative_to(REPO)}:{line} imports {target}"


def test_config_is_the_run_spec_only():
    """config/ holds the run spec: a handful of modules, none that launches, loads or talks to a service."""
    modules = sorted(p.stem for p in (PACKAGE / "config").glob("*.py"))
    assert len(modules) <= 11, modules
    for path in (PACKAGE / "config").glob("*.py"):
        for target, line, _ in imports(path, module_name(path, PACKAGE)):
            assert not target.startswith(("fai_rl.launch", "fai_rl.cli", "fai_rl.training", "fai_rl.tracking")), \
                f"{path.relative_to(REPO)}:{line} imports {target}"


def test_functions_in_training_fit_on_a_screen():
    for path in (PACKAGE / "training").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{path.relative_to(REPO)}:{node.lineno}: {node.name} is {length} lines"
