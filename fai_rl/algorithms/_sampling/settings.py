"""The settings (algorithm.*) every algorithm that samples groups of completions for prompts and scores them with
rewards shares (GRPO, GSPO, RLOO), and their cross-field rules, checked before any model loads. Light: no torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional

from fai_rl.algorithms._sampling.generation import GenerationConfig, check_generation
from fai_rl.config.schema import AlgorithmConfig, section, setting
from fai_rl.data.templates import check_prompt_template
from fai_rl.errors import ConfigError
from fai_rl.rewards import resolve


@dataclass
class DynamicSampling:
    """DAPO's dynamic sampling (Yu et al., 2025, arXiv:2503.14476), trained by fai_rl/algorithms/_sampling/dynamic.py."""
    enabled: bool = setting(False, "Drop the groups whose completions all got the same reward (no learning signal) "
                                   "and refill the generation batch with groups sampled for fresh prompts.")
    max_rounds: int = setting(4, "Extra generation rounds per generation batch at most (> 0); when they are spent, "
                                 "the batch trains with the equal-reward groups it still holds and the log says so.")
    tolerance: float = setting(1.0e-6, "A group counts as all equal when its highest and lowest total reward differ "
                                       "by at most this (>= 0).")


@dataclass
class SampledSettings(AlgorithmConfig):
    """The fields of a group-sampling algorithm; its own Settings extend these with what only it has."""
    num_generations: int = setting(8, "Completions sampled per prompt: the group its completions are compared "
                                      "within (>= 2; G in arXiv:2402.03300, k in arXiv:2402.14740).")
    group_size: Optional[int] = setting(None, "The seed's name for num_generations; when set, it is the group "
                                              "size; null: num_generations decides.")
    steps_per_generation: Optional[int] = setting(None, "Optimizer steps per generation batch (> 0); null: "
                                                        "training.gradient_accumulation_steps.")
    num_iterations: int = setting(1, "Updates per generation batch (> 0; mu in arXiv:2402.03300).")
    max_completion_length: int = setting(256, "Tokens generated per completion (> 0); data.max_prompt_length + "
                                              "this must fit in data.max_length.")
    temperature: float = setting(1.0, "Sampling temperature (> 0).")
    top_p: float = setting(1.0, "Nucleus sampling probability mass, in (0, 1].")
    beta: float = setting(0.0, "KL coefficient (>= 0); 0 loads no reference model.")
    epsilon: float = setting(0.2, "Clip range below 1 (and above it unless epsilon_high is set; > 0).")
    epsilon_high: Optional[float] = setting(None, "Clip range above 1 (> 0; DAPO's clip-higher uses 0.28); null: "
                                                  "epsilon.")
    mask_truncated_completions: bool = setting(False, "Completions cut at max_completion_length do not count in "
                                                      "the loss.")
    rewards: List[Any] = setting(["accuracy"], "Rewards summed into one: built-in names, dotted paths of "
                                               "callables, or {_target_: ..., weight: ..., <kwarg>: ...}.")
    generation: GenerationConfig = section(GenerationConfig, "How completions are sampled: transformers' generate "
                                                             "or vLLM on GPUs (colocated or a server).")
    dynamic_sampling: DynamicSampling = section(DynamicSampling, "Drop equal-reward groups and refill the batch "
                                                                 "from fresh prompts (DAPO's dynamic sampling).")

    def __post_init__(self):
        if self.group_size is not None:  # the seed's name wins: it is what a seed recipe sets
            self.num_generations = self.group_size


def _positive(value, where: str) -> None:
    if value is not None and value <= 0:
        raise ConfigError(f"'{where}' must be > 0, got {value}")


def group_key(run) -> str:
    """The key the user set the group size with (the seed's group_size or num_generations)."""
    return "algorithm.group_size" if run.algorithm.group_size is not None else "algorithm.num_generations"


def check_sampled(run) -> None:
    """Cross-field rules of the shared settings, with the arithmetic in the message, before any model loads."""
    a, t, d = run.algorithm, run.training, run.data
    group = group_key(run)
    if a.num_generations < 2:
        raise ConfigError(f"'{group}' must be >= 2 (completions are compared within their group), got "
                          f"{a.num_generations}")
    for name in ("num_iterations", "max_completion_length", "temperature", "top_p", "epsilon", "epsilon_high",
                 "steps_per_generation"):
        _positive(getattr(a, name), f"algorithm.{name}")
    if a.top_p > 1:
        raise ConfigError(f"'algorithm.top_p' must be in (0, 1], got {a.top_p}")
    if a.beta < 0:
        raise ConfigError(f"'algorithm.beta' must be >= 0 (0: no KL term, no reference model), got {a.beta}")
    check_generation(run)
    if a.generation.batch_size is not None:
        check_generation_batch(run, group)
    else:
        steps, steps_name = steps_per_generation(run)
        batch = t.per_device_train_batch_size * steps * run.world_size
        if batch % a.num_generations:
            raise ConfigError(
                f"the generation batch, training.per_device_train_batch_size x {steps_name} x processes = "
                f"{t.per_device_train_batch_size} x {steps} x {run.world_size} = {batch}, must be divisible by "
                f"{group} ({a.num_generations}); e.g. per_device_train_batch_size={a.num_generations}")
    _check_dynamic_sampling(run, group)
    eval_batch = t.per_device_eval_batch_size * run.world_size
    if d.eval_datasets and eval_batch % a.num_generations:
        raise ConfigError(
            f"the eval batch, training.per_device_eval_batch_size x processes = {t.per_device_eval_batch_size} x "
            f"{run.world_size} = {eval_batch}, must be divisible by {group} ({a.num_generations})")
    check_prompt_fits(run)
    resolve(a.rewards)


def steps_per_generation(run) -> tuple:
    """(optimizer steps one generation batch feeds, the key that sets it) when algorithm.generation.batch_size is null."""
    a, t = run.algorithm, run.training
    if a.steps_per_generation:
        return a.steps_per_generation, "algorithm.steps_per_generation"
    return t.gradient_accumulation_steps, "training.gradient_accumulation_steps"


def check_generation_batch(run, group: str) -> None:
    """algorithm.generation.batch_size: whole training batches of all processes, whole groups."""
    size, t = run.algorithm.generation.batch_size, run.training
    step = t.per_device_train_batch_size * run.world_size
    if size % step:
        raise ConfigError(
            f"'algorithm.generation.batch_size' ({size}) must be divisible by the training batch of all processes, "
            f"training.per_device_train_batch_size x processes = {t.per_device_train_batch_size} x {run.world_size} "
            f"= {step}")
    if size % run.algorithm.num_generations:
        raise ConfigError(f"'algorithm.generation.batch_size' ({size}) must be divisible by {group} "
                          f"({run.algorithm.num_generations}): a round generates whole groups")


def _check_dynamic_sampling(run, group: str) -> None:
    """Dynamic sampling refills each process's groups on that process: every group must lie on one process."""
    a, t = run.algorithm, run.training
    settings = a.dynamic_sampling
    if not settings.enabled:
        return
    if settings.max_rounds < 1:
        raise ConfigError(f"'algorithm.dynamic_sampling.max_rounds' must be >= 1 (extra generation rounds), "
                          f"got {settings.max_rounds}")
    if settings.tolerance < 0:
        raise ConfigError(f"'algorithm.dynamic_sampling.tolerance' must be >= 0, got {settings.tolerance}")
    if a.generation.batch_size is not None:
        local = a.generation.batch_size // run.world_size
        arithmetic = f"algorithm.generation.batch_size / processes = {a.generation.batch_size} / {run.world_size}"
    else:
        steps, steps_name = steps_per_generation(run)
        local = t.per_device_train_batch_size * steps
        arithmetic = f"training.per_device_train_batch_size x {steps_name} = {t.per_device_train_batch_size} x {steps}"
    if local % a.num_generations:
        raise ConfigError(f"algorithm.dynamic_sampling needs whole groups on every process: {arithmetic} = {local} "
                          f"must be divisible by {group} ({a.num_generations})")


def check_prompt_fits(run) -> None:
    """The prompt budget plus the completion fits data.max_length, and data.prompt_template is a template (every
    algorithm that samples completions from prompts)."""
    a, d = run.algorithm, run.data
    if d.max_prompt_length + a.max_completion_length > d.max_length:
        raise ConfigError(
            f"prompt plus completion, data.max_prompt_length + algorithm.max_completion_length = "
            f"{d.max_prompt_length} + {a.max_completion_length} = {d.max_prompt_length + a.max_completion_length}, "
            f"exceeds data.max_length ({d.max_length})")
    if d.prompt_template is not None:
        check_prompt_template(d.prompt_template)
