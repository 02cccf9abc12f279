"""RLOO — REINFORCE Leave-One-Out (Ahmadian et al., 2024, arXiv:2402.14740) on TRL's RLOOTrainer.

k completions per prompt; each one's advantage is its reward minus the mean reward of the other k-1; the KL to
the reference (beta > 0) is a penalty on the sequence's reward, not a loss term. Prompt data, rewards, generation
(algorithm.generation), dynamic sampling, task metrics and the resumable prompt order are GRPO's, shared through
fai_rl/algorithms/_sampling/; this module adds RLOO's settings and the RLOOConfig fields.
"""
from __future__ import annotations

from dataclasses import dataclass

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
from fai_rl.algorithms._sampling.settings import SampledSettings, check_sampled
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.errors import ConfigError

__all__ = ["HEADLINE", "OBJECTIVE", "TRAIN_REWARD", "Settings", "check", "evaluate", "evaluate_model",
           "examples_per_row", "generation_server", "load_data"]


@dataclass
class Settings(SampledSettings):
    name: str = redefault(AlgorithmConfig, "name", "rloo")
    trainer: str = redefault(AlgorithmConfig, "trainer", "rloo")
    num_generations: int = setting(4, "Completions sampled per prompt (>= 2; k in arXiv:2402.14740): each one's "
                                      "baseline is the mean reward of the other k-1.")
    beta: float = setting(0.05, "KL coefficient (>= 0; TRL's RLOO default): beta x the summed log-ratio to the "
                                "reference is subtracted from each completion's reward; 0 loads no reference model.")
    normalize_advantages: bool = setting(False, "Normalise the advantages of each generation batch to mean 0 and "
                                                "std 1.")


def check(run) -> None:
    """The shared group-sampling rules, and what TRL's RLOOTrainer lacks."""
    check_sampled(run)
    g = run.algorithm.generation
    if g.backend == "vllm" and g.importance_sampling_correction:
        raise ConfigError("'algorithm.generation.importance_sampling_correction' is GRPO's: TRL's RLOOTrainer "
                          "does not correct for vLLM's sampling probabilities; set it to false")


def memory_profile(run) -> MemoryProfile:
    """A reference model when the KL penalty is on."""
    return _sampling.memory_profile(run, reference_model=run.algorithm.beta > 0)


def recipe_keys(name: str) -> dict:
    return {}  # FAI-RL recipes' training.* keys it reads are its own algorithm.* fields


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import RLOOConfig, RLOOTrainer  # heavy: imported when a trainer is built, not while validating

    config = RLOOConfig(**args, **_sampling.sampling_args(run), normalize_advantages=run.algorithm.normalize_advantages,
                        **generation_args(run, importance_sampling=False))
    return _sampling.build(run, RLOOTrainer, config, model, tokenizer, train_ds, eval_ds, peft_config)
