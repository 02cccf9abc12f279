"""What an algorithm module provides: the one written contract every module in fai_rl/algorithms/ meets.

An algorithm is one module here plus one YAML in conf/algorithm/ (docs/algorithms.md walks through one). The
module's top level is light (no torch/TRL): `fai-rl` reads `Settings`, `check` and `examples_per_row` while it
validates a config, before anything heavy loads; the functions that train and evaluate import TRL inside.
`fai_rl.algorithms.load` checks a module against this contract, and tests check every module.
"""
from __future__ import annotations

import inspect
from types import ModuleType
from typing import Protocol

from fai_rl.config.schema import AlgorithmConfig


class Algorithm(Protocol):
    Settings: type  # a dataclass extending AlgorithmConfig: the algorithm's hyperparameters (algorithm.*)
    OBJECTIVE: str  # the summary metric a sweep optimises by default (e.g. eval_rewards/accuracies)
    HEADLINE: list  # metrics printed before -> after at the end of a run

    def check(self, run) -> None:
        """Cross-field rules, raising ConfigError naming the field; never changes `run`."""

    def examples_per_row(self, settings) -> int:
        """Training examples one data row yields (GRPO: a group of completions per prompt), for batch checks."""

    def load_data(self, run, tokenizer) -> tuple:
        """(train dataset, eval dataset or None), in the columns the trainer expects."""

    def build_trainer(self, run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
        """A TRL trainer; `args` are the TrainingArguments every algorithm shares."""

    def evaluate(self, trainer) -> dict:
        """Eval metrics of the trainer's model on its eval dataset (called before and after training)."""

    def evaluate_model(self, run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
        """fai-rl-eval: metrics of a saved model on a dataset (`args`: shared TrainingArguments, scratch output)."""


ATTRIBUTES = {"Settings": type, "OBJECTIVE": str, "HEADLINE": list}
FUNCTIONS = [name for name, value in vars(Algorithm).items() if inspect.isfunction(value) and not name.startswith("_")]


def _parameters(fn) -> list:
    return [p.name for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def contract_problems(module: ModuleType) -> list:
    """What `module` lacks or gets wrong against the contract (empty when it meets it)."""
    problems = []
    for name, kind in ATTRIBUTES.items():
        if not isinstance(getattr(module, name, None), kind):
            problems.append(f"{name} must be a {kind.__name__}")
    settings = getattr(module, "Settings", None)
    if isinstance(settings, type) and not issubclass(settings, AlgorithmConfig):
        problems.append("Settings must extend fai_rl.config.schema.AlgorithmConfig")
    for name in FUNCTIONS:
        fn = getattr(module, name, None)
        if not callable(fn):
            problems.append(f"function {name}({', '.join(_parameters(getattr(Algorithm, name)))}) is missing")
        elif _parameters(fn) != _parameters(getattr(Algorithm, name)):
            problems.append(f"{name} takes ({', '.join(_parameters(fn))}), the contract says "
                            f"({', '.join(_parameters(getattr(Algorithm, name)))})")
    return problems
