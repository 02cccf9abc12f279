"""KTO — Kahneman-Tversky Optimization (Ethayarajh et al., 2024, arXiv:2402.01306) on TRL's KTOTrainer.

It learns from unpaired feedback: rows of prompt, completion and a boolean label (desirable or not), column names
mapped per dataset (data.datasets[].prompt_column / completion_column / label_column); preference pairs work too,
each giving one desirable and one undesirable row (fai_rl/data/unpaired.py). Its metric is TRL's reward margin: the
mean implicit reward (beta x log-ratio to the reference) of desirable completions minus that of undesirable ones,
0 before training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fai_rl.algorithms import dpo
from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.errors import ConfigError

OBJECTIVE = "eval_rewards/margins"  # desirable minus undesirable implicit reward on the eval rows
HEADLINE = ["eval_rewards/margins", "eval_rewards/chosen", "eval_rewards/rejected", "eval_loss"]
TRAIN_REWARD = None  # no reward model or function: the alarm has nothing to watch


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "kto")
    trainer: str = redefault(AlgorithmConfig, "trainer", "kto")
    beta: float = setting(0.1, "Deviation from the reference policy (> 0; higher stays closer to it).")
    loss_type: Literal["kto", "apo_zero_unpaired"] = setting(
        "kto", "kto: KTO's loss (arXiv:2402.01306); apo_zero_unpaired: APO-zero's unpaired loss (arXiv:2408.06266).")
    desirable_weight: float = setting(1.0, "Weight of the desirable rows' loss (> 0); raise it when they are fewer "
                                           "(KTO's paper keeps desirable x this / undesirable x undesirable_weight "
                                           "in [1, 4/3]).")
    undesirable_weight: float = setting(1.0, "Weight of the undesirable rows' loss (> 0).")
    precompute_ref_log_probs: bool = setting(True, "Compute the reference log-probs once before training and keep "
                                                   "no reference model.")


def check(run) -> None:
    a = run.algorithm
    for name in ("beta", "desirable_weight", "undesirable_weight"):
        if getattr(a, name) <= 0:
            raise ConfigError(f"'algorithm.{name}' must be > 0, got {getattr(a, name)}")


def examples_per_row(settings: Settings) -> int:
    return 1  # one labelled completion per row (a preference pair became two rows when loaded)


def memory_profile(run) -> MemoryProfile:
    """A reference model unless its log-probs are precomputed; a row is its completion plus a mismatched one
    (KTO's KL estimate), each up to data.max_length."""
    return MemoryProfile(reference_model=not run.algorithm.precompute_ref_log_probs,
                         tokens_per_row=2 * run.data.max_length)


def generation_server(run) -> None:
    return None  # samples nothing


def recipe_keys(name: str) -> dict:
    return {}


def load_data(run, tokenizer):
    from fai_rl.data.unpaired import load_unpaired_data  # heavy (datasets, trl)

    train = load_unpaired_data(run.data.datasets)
    evals = load_unpaired_data(run.data.eval_datasets, "data.eval_datasets") if run.data.eval_datasets else None
    return train, evals


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    return _trainer(run, model, tokenizer, train_ds, eval_ds, args, peft_config=peft_config)


def _trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None, ref_model=None):
    from trl import KTOConfig, KTOTrainer  # heavy: imported when a trainer is built, not while validating

    a = run.algorithm
    config = KTOConfig(**args, beta=a.beta, loss_type=a.loss_type, desirable_weight=a.desirable_weight,
                       undesirable_weight=a.undesirable_weight, precompute_ref_log_probs=a.precompute_ref_log_probs,
                       max_length=run.data.max_length)
    return KTOTrainer(model=model, ref_model=ref_model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=peft_config)


def evaluate(trainer) -> dict:
    """TRL's eval metrics; the margin from the mean rewards when no eval batch held both kinds of row (TRL computes
    it per batch that does)."""
    metrics = trainer.evaluate()
    if "eval_rewards/margins" not in metrics and {"eval_rewards/chosen", "eval_rewards/rejected"} <= set(metrics):
        metrics["eval_rewards/margins"] = metrics["eval_rewards/chosen"] - metrics["eval_rewards/rejected"]
    return metrics


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on unpaired or preference data: the reward margin against the reference it was trained from."""
    reference, ref_model = dpo.reference_for_eval(run, model_path)
    metrics = evaluate(_trainer(run, model, tokenizer, eval_ds, eval_ds, args, ref_model=ref_model))
    metrics["reference_model"] = reference
    return metrics
