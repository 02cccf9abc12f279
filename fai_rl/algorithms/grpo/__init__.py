"""GRPO — Group Relative Policy Optimization (Shao et al., 2024, arXiv:2402.03300) on TRL's GRPOTrainer.

GSPO (Zheng et al., 2025, arXiv:2507.18071) is GRPO with sequence-level importance sampling: it is the config
conf/algorithm/gspo.yaml (importance_sampling_level: sequence, ...), trained by this package.

What GRPO shares with the other group-sampling algorithms (settings, generation, rewards, dynamic sampling, task
metrics, resumable prompt order) is fai_rl/algorithms/_sampling/; this package holds GRPO's own: its loss settings
(_settings) and the GRPOConfig fields. This module is the contract's face (fai_rl.algorithms._contract).
"""
from __future__ import annotations

from fai_rl.algorithms import _sampling
from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.algorithms._sampling import (
    HEADLINE,
    OBJECTIVE,
    TRAIN_REWARD,
    evaluate,
    evaluate_model,
    examples_per_row,
    generation_server,
    load_data,
)
from fai_rl.algorithms._sampling.generation import generation_args
from fai_rl.algorithms.grpo._settings import Settings, check
from fai_rl.rewards import resolve

__all__ = ["HEADLINE", "OBJECTIVE", "TRAIN_REWARD", "Settings", "check", "evaluate",
           "evaluate_model", "examples_per_row", "generation_server", "load_data"]

# FAI-RL recipes keep GSPO's hyperparameters in `training` ("only used when algorithm: gspo")
GSPO_RECIPE_KEYS = {"beta": "beta", "group_size": "num_generations", "epsilon": "epsilon",
                    "epsilon_high": "epsilon_high", "steps_per_generation": "steps_per_generation"}


def memory_profile(run) -> MemoryProfile:
    """A reference model when the KL term is on."""
    return _sampling.memory_profile(run, reference_model=run.algorithm.beta > 0)


def recipe_keys(name: str) -> dict:
    return GSPO_RECIPE_KEYS if name == "gspo" else {}


def grpo_config_args(run, reward_weights: list) -> dict:
    """The GRPOConfig fields this module sets from algorithm.*, beside the shared TrainingArguments."""
    a = run.algorithm
    return dict(_sampling.sampling_args(run), reward_weights=reward_weights, loss_type=a.loss_type,
                importance_sampling_level=a.importance_sampling_level, scale_rewards=a.scale_rewards,
                **generation_args(run))


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import GRPOConfig, GRPOTrainer  # heavy: imported when a trainer is built, not while validating

    config = GRPOConfig(**args, **grpo_config_args(run, [r.weight for r in resolve(run.algorithm.rewards)]))
    return _sampling.build(run, GRPOTrainer, config, model, tokenizer, train_ds, eval_ds, peft_config)
