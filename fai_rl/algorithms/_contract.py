"""What an algorithm provides: the one written contract every algorithm in fai_rl/algorithms/ meets.

An algorithm is one module or package here (its helpers private: names starting with _) plus one YAML in
conf/algorithm/ (docs/algorithms.md walks through one). Its top level is light (no torch/TRL): `fai-rl` reads
`Settings`, `check`, `examples_per_row`, `memory_profile` and `generation_server` while it validates and plans a
run, before anything heavy loads; the functions that train and evaluate import TRL inside. Shared code asks the
algorithm what it needs to know (what it keeps in memory, whether it needs a server, which metric is its objective,
which logged metric is its training reward, which model head it trains) and never checks an algorithm's name. `fai_rl.algorithms.load` checks
an algorithm against this contract, and tests check every one.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, is_dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Optional, Protocol

if TYPE_CHECKING:  # types only: the run spec builds its algorithm section through this package
    from fai_rl.config.schema import RunConfig

SETTINGS_BASE = ("fai_rl.config.schema", "AlgorithmConfig")


@dataclass(frozen=True)
class MemoryProfile:
    """What one training process of an algorithm holds beyond the policy and its optimizer (the memory estimate)."""

    reference_model: bool  # a second copy of the policy's weights (a frozen reference); LoRA needs none either way
    tokens_per_row: int  # tokens one training example holds at full length (DPO: chosen + rejected)
    generated_rows: int = 0  # examples generated per round on one process, their KV cache held at once (GRPO)
    vllm_share: float = 0.0  # share of each training GPU's memory a colocated vLLM keeps while the model trains
    generated_tokens: int = 0  # tokens per row transformers' generate appends, its KV cache reallocated at each one
    default_allocator: bool = False  # a colocated vLLM: its processes keep PyTorch's default CUDA allocator


@dataclass(frozen=True)
class GenerationServer:
    """A server an algorithm samples from, started by the front process on the GPUs hardware.vllm_gpus reserves,
    before the training processes, healthy once GET <url>/health answers 200, stopped with the job."""

    argv: list  # the server's command line
    env: dict  # variables beyond the inherited environment (its GPUs)
    url: str
    port: int
    port_field: str  # the setting that chose the port, named when it is in use
    timeout_s: float  # how long to wait for /health before the run fails
    timeout_field: str
    module: str  # the Python module the server needs installed
    install_hint: str  # the one-line error when it is not
    name: str = "the generation server"


class Algorithm(Protocol):
    Settings: type  # a dataclass extending fai_rl.config.schema.AlgorithmConfig: its hyperparameters (algorithm.*)
    OBJECTIVE: str  # the summary metric a sweep optimises by default (e.g. eval_rewards/accuracies)
    HEADLINE: list  # metrics printed before -> after at the end of a run
    TRAIN_REWARD: Optional[str]  # the logged mean training reward the reward-hacking alarm watches; None: no reward
    # optional: MODEL_HEAD, the model it trains (MODEL_HEADS below; absent: causal_lm)

    def check(self, run: RunConfig) -> None:
        """Cross-field rules, raising ConfigError naming the field; never changes `run`."""

    def examples_per_row(self, settings) -> int:
        """Training examples one data row yields (GRPO: a group of completions per prompt), for batch checks."""

    def memory_profile(self, run: RunConfig) -> MemoryProfile:
        """What one process keeps in memory beyond the policy, for the estimate printed at launch."""

    def generation_server(self, run: RunConfig) -> Optional[GenerationServer]:
        """The server this run samples from (started before training), or None."""

    def recipe_keys(self, name: str) -> dict:
        """FAI-RL recipes: `training.*` keys that algorithm option `name` reads, mapped to its algorithm.* fields
        (keys a recipe may carry for other options are ignored for this one)."""

    def load_data(self, run: RunConfig, tokenizer) -> tuple:
        """(train dataset, eval dataset or None), in the columns the trainer expects."""

    def build_trainer(self, run: RunConfig, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
        """A TRL trainer; `args` are the TrainingArguments every algorithm shares."""

    def evaluate(self, trainer) -> dict:
        """Eval metrics of the trainer's model on its eval dataset (called before and after training)."""

    def evaluate_model(self, run: RunConfig, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
        """fai-rl-eval: metrics of a saved model on a dataset (`args`: shared TrainingArguments, scratch output)."""


ATTRIBUTES = {"Settings": (type,), "OBJECTIVE": (str,), "HEADLINE": (list,), "TRAIN_REWARD": (str, type(None))}
# Optional: what model the algorithm trains. MODEL_HEAD = "sequence_classification" loads the policy with a fresh
# one-output score head (AutoModelForSequenceClassification, num_labels=1: a reward model); "image_text" loads the
# model's processor (as `tokenizer`) and its image-text model (sft_vlm); absent: a causal LM.
MODEL_HEADS = ("causal_lm", "sequence_classification", "image_text")


def model_head(module: ModuleType) -> str:
    """The head algorithm `module` trains and evaluates: its MODEL_HEAD, or causal_lm."""
    return getattr(module, "MODEL_HEAD", MODEL_HEADS[0])
FUNCTIONS = [name for name, value in vars(Algorithm).items() if inspect.isfunction(value) and not name.startswith("_")]


def _parameters(fn) -> list:
    return [p.name for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def _extends_settings_base(cls: type) -> bool:
    return is_dataclass(cls) and any((c.__module__, c.__name__) == SETTINGS_BASE for c in cls.__mro__)


def contract_problems(module: ModuleType) -> list:
    """What `module` lacks or gets wrong against the contract (empty when it meets it)."""
    problems = []
    for name, kinds in ATTRIBUTES.items():
        if not hasattr(module, name) or not isinstance(getattr(module, name), kinds):
            problems.append(f"{name} must be a {' or '.join(k.__name__ for k in kinds)}")
    if model_head(module) not in MODEL_HEADS:
        problems.append(f"MODEL_HEAD must be one of {', '.join(MODEL_HEADS)}")
    settings = getattr(module, "Settings", None)
    if isinstance(settings, type) and not _extends_settings_base(settings):
        problems.append("Settings must be a dataclass extending fai_rl.config.schema.AlgorithmConfig")
    for name in FUNCTIONS:
        fn = getattr(module, name, None)
        if not callable(fn):
            problems.append(f"function {name}({', '.join(_parameters(getattr(Algorithm, name)))}) is missing")
        elif _parameters(fn) != _parameters(getattr(Algorithm, name)):
            problems.append(f"{name} takes ({', '.join(_parameters(fn))}), the contract says "
                            f"({', '.join(_parameters(getattr(Algorithm, name)))})")
    return problems
