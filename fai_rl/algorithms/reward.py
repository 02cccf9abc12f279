"""Reward model training — a scalar scorer learned from preference pairs (Bradley-Terry loss, Ouyang et al., 2022,
arXiv:2203.02155) on TRL's RewardTrainer.

It reads the same preference data as DPO (fai_rl/data/preference.py: every form, column map and mix) and trains
the model with a fresh one-output score head (AutoModelForSequenceClassification, num_labels=1), saved with its
tokenizer and model card. The saved model scores completions as a GRPO/GSPO/RLOO reward:
`algorithm.rewards=[reward_model:<its folder or run:NAME>]` (fai_rl/rewards/reward_model.py).
Its metric is held-out pair accuracy: the share of eval pairs whose chosen response scores higher (0.5 by chance).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.errors import ConfigError

MODEL_HEAD = "sequence_classification"  # the contract's hook: the policy loads with a one-output score head
OBJECTIVE = "eval_accuracy"  # share of held-out pairs whose chosen response scores higher
HEADLINE = ["eval_accuracy", "eval_margin", "eval_mean_reward", "eval_loss"]
TRAIN_REWARD = None  # it learns a reward; nothing to watch for hacking


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "reward")
    trainer: str = redefault(AlgorithmConfig, "trainer", "reward")
    center_rewards_coefficient: Optional[float] = setting(
        None, "Pull the scores towards mean zero with this weight on their squared sum (Eisenstein et al., 2023, "
              "arXiv:2312.09244; 0.01 recommended, >= 0); null: off.")


def check(run) -> None:
    c = run.algorithm.center_rewards_coefficient
    if c is not None and c < 0:
        raise ConfigError(f"'algorithm.center_rewards_coefficient' must be >= 0 (or null: off), got {c}")


def examples_per_row(settings: Settings) -> int:
    return 1  # one preference pair per row


def memory_profile(run) -> MemoryProfile:
    """No reference model; a row is a chosen and a rejected response, each up to data.max_length."""
    return MemoryProfile(reference_model=False, tokens_per_row=2 * run.data.max_length)


def generation_server(run) -> None:
    return None  # samples nothing


def recipe_keys(name: str) -> dict:
    return {}


def load_data(run, tokenizer):
    from fai_rl.algorithms.dpo import load_data as load_pairs  # the same preference data as DPO

    return load_pairs(run, tokenizer)


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import RewardConfig, RewardTrainer  # heavy: imported when a trainer is built, not while validating

    config = RewardConfig(**args, max_length=run.data.max_length,
                          center_rewards_coefficient=run.algorithm.center_rewards_coefficient)
    return RewardTrainer(model=model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                         processing_class=tokenizer, peft_config=peft_config)


def evaluate(trainer) -> dict:
    """TRL's eval loss, pair accuracy (eval_accuracy), mean chosen-minus-rejected score (eval_margin)."""
    return trainer.evaluate()


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on preference data: the saved reward model's pair accuracy and margin."""
    return evaluate(build_trainer(run, model, tokenizer, eval_ds, eval_ds, args))
