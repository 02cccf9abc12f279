"""GRPO — Group Relative Policy Optimization (Shao et al., 2024, arXiv:2402.03300) on TRL's GRPOTrainer.

GSPO (Zheng et al., 2025, arXiv:2507.18071) is GRPO with sequence-level importance sampling: it is the config
conf/algorithm/gspo.yaml (importance_sampling_level: sequence, ...), trained by this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Literal, Optional

from fai_rl.config.errors import ConfigError
from fai_rl.config.generation import SERVER_HOST, GenerationConfig, check_generation, memory_fraction
from fai_rl.config.schema import AlgorithmConfig, redefault, section, setting
from fai_rl.data.templates import template_fields
from fai_rl.rewards import resolve

OBJECTIVE = "eval_reward"  # mean total reward on the eval prompts (train `reward` when there are none)
HEADLINE = ["eval_reward", "eval_reward_std", "eval_frac_reward_zero_std", "eval_completions/mean_length"]

LossType = Literal["grpo", "dapo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo"]


@dataclass
class DynamicSampling:
    """DAPO's dynamic sampling (Yu et al., 2025, arXiv:2503.14476), trained by fai_rl/algorithms/dynamic_sampling.py."""
    enabled: bool = setting(False, "Drop the groups whose completions all got the same reward (no learning signal) "
                                   "and refill the generation batch with groups sampled for fresh prompts.")
    max_rounds: int = setting(4, "Extra generation rounds per generation batch at most (> 0); when they are spent, "
                                 "the batch trains with the equal-reward groups it still holds and the log says so.")
    tolerance: float = setting(1.0e-6, "A group counts as all equal when its highest and lowest total reward differ "
                                       "by at most this (>= 0).")


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "grpo")
    trainer: str = redefault(AlgorithmConfig, "trainer", "grpo")
    num_generations: int = setting(8, "Completions sampled per prompt: the group (>= 2; G in arXiv:2402.03300).")
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
    loss_type: LossType = setting("dapo", "TRL's loss names: grpo, dapo, dr_grpo, bnpo, cispo, sapo, luspo "
                                          "(needs importance_sampling_level=sequence), vespo.")
    importance_sampling_level: Literal["token", "sequence"] = setting(
        "token", "token: one importance ratio per token (GRPO); sequence: one per completion (GSPO, "
                 "arXiv:2507.18071).")
    scale_rewards: Literal["group", "batch", "none"] = setting("group", "Divide advantages by the std of the group, "
                                                                        "of the batch, or not at all (none).")
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


def check(run) -> None:
    """Cross-field rules, with the arithmetic in the message, before any model loads."""
    a, t, d = run.algorithm, run.training, run.data
    group = "algorithm.group_size" if a.group_size is not None else "algorithm.num_generations"
    if a.num_generations < 2:
        raise ConfigError(f"'{group}' must be >= 2 (GRPO compares completions within a group), got {a.num_generations}")
    for name in ("num_iterations", "max_completion_length", "temperature", "top_p", "epsilon", "epsilon_high",
                 "steps_per_generation"):
        _positive(getattr(a, name), f"algorithm.{name}")
    if a.top_p > 1:
        raise ConfigError(f"'algorithm.top_p' must be in (0, 1], got {a.top_p}")
    if a.beta < 0:
        raise ConfigError(f"'algorithm.beta' must be >= 0 (0: no KL term, no reference model), got {a.beta}")
    if a.loss_type == "luspo" and a.importance_sampling_level != "sequence":
        raise ConfigError("'algorithm.loss_type' luspo needs algorithm.importance_sampling_level=sequence")
    check_generation(run)
    if a.generation.batch_size is not None:
        check_generation_batch(run, group)
    else:
        steps, steps_name = _steps_per_generation(run)
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
    if d.max_prompt_length + a.max_completion_length > d.max_length:
        raise ConfigError(
            f"prompt plus completion, data.max_prompt_length + algorithm.max_completion_length = "
            f"{d.max_prompt_length} + {a.max_completion_length} = {d.max_prompt_length + a.max_completion_length}, "
            f"exceeds data.max_length ({d.max_length})")
    if d.prompt_template is not None:
        template_fields(d.prompt_template)
    resolve(a.rewards)


def _steps_per_generation(run) -> tuple:
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
        steps, steps_name = _steps_per_generation(run)
        local = t.per_device_train_batch_size * steps
        arithmetic = f"training.per_device_train_batch_size x {steps_name} = {t.per_device_train_batch_size} x {steps}"
    if local % a.num_generations:
        raise ConfigError(f"algorithm.dynamic_sampling needs whole groups on every process: {arithmetic} = {local} "
                          f"must be divisible by {group} ({a.num_generations})")


def examples_per_row(settings: Settings) -> int:
    return settings.num_generations  # every prompt is sampled num_generations times


def load_data(run, tokenizer):
    from fai_rl.data.prompts import load_prompt_data, require_reward_columns  # heavy (datasets)

    needed = {column: r.name for r in resolve(run.algorithm.rewards) for column in r.required_columns}
    if needed and run.data.remove_unused_columns:
        raise ConfigError(f"data.remove_unused_columns=true would drop the column(s) {', '.join(needed)} that "
                          f"reward(s) {', '.join(sorted(set(needed.values())))} read; set it to false")
    train = load_prompt_data(run.data.datasets, run.data, tokenizer, "data.datasets")
    require_reward_columns(train, needed, "data.datasets")
    evals = None
    if run.data.eval_datasets:
        evals = load_prompt_data(run.data.eval_datasets, run.data, tokenizer, "data.eval_datasets")
        require_reward_columns(evals, needed, "data.eval_datasets")
    return train, evals


def grpo_config_args(run, reward_weights: list) -> dict:
    """The GRPOConfig fields this module sets from algorithm.*, beside the shared TrainingArguments."""
    a = run.algorithm
    return dict(
        num_generations=a.num_generations, num_generations_eval=a.num_generations,
        steps_per_generation=a.steps_per_generation, num_iterations=a.num_iterations,
        max_completion_length=a.max_completion_length, temperature=a.temperature, top_p=a.top_p,
        beta=a.beta, epsilon=a.epsilon, epsilon_high=a.epsilon_high, loss_type=a.loss_type,
        importance_sampling_level=a.importance_sampling_level, scale_rewards=a.scale_rewards,
        mask_truncated_completions=a.mask_truncated_completions,
        reward_weights=reward_weights,
        log_completions=False,
        **generation_args(run),
    )


def generation_args(run) -> dict:
    """TRL's generation fields from algorithm.generation (its vLLM fields only when vLLM samples)."""
    g = run.algorithm.generation
    args = dict(generation_batch_size=g.batch_size)
    if g.backend == "hf":
        return args
    args.update(use_vllm=True, vllm_mode=g.vllm_mode, vllm_max_model_length=run.data.max_length,
                vllm_importance_sampling_correction=g.importance_sampling_correction)
    if g.vllm_mode == "colocate":
        return dict(args, vllm_gpu_memory_utilization=memory_fraction(g),
                    vllm_tensor_parallel_size=g.tensor_parallel_size, vllm_enable_sleep_mode=g.sleep_mode)
    return dict(args, vllm_server_host=SERVER_HOST, vllm_server_port=g.server_port,
                vllm_server_timeout=g.server_timeout_s)


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import GRPOConfig  # heavy: imported when a trainer is built, not while validating

    from fai_rl.algorithms.grpo_trainer import ResumableGRPOTrainer  # heavy (trl): only when a trainer is built
    from fai_rl.tracking.task_metrics import TaskMetrics  # heavy (torch, transformers)

    rewards = resolve(run.algorithm.rewards)
    config = GRPOConfig(**args, **grpo_config_args(run, [r.weight for r in rewards]))
    common = dict(model=model, reward_funcs=[r.fn for r in rewards], args=config, train_dataset=train_ds,
                  eval_dataset=eval_ds, processing_class=tokenizer, peft_config=peft_config)
    settings = run.algorithm.dynamic_sampling
    if not settings.enabled:
        trainer = ResumableGRPOTrainer(**common)
    else:
        # heavy (torch, trl): the subclass loads only when a run asks for dynamic sampling
        from fai_rl.algorithms.dynamic_sampling import DynamicSamplingGRPOTrainer

        trainer = DynamicSamplingGRPOTrainer(**common, max_rounds=settings.max_rounds, tolerance=settings.tolerance)
    if eval_ds is not None and "answer" in eval_ds.column_names:  # before fai-rl's callbacks that read its metrics
        trainer.add_callback(TaskMetrics(trainer, run, eval_ds))
    return trainer


def evaluate(trainer) -> dict:
    """Rewards of completions sampled for the eval prompts (eval_reward, eval_rewards/<name>/mean, lengths)."""
    return trainer.evaluate()


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on prompt data: every reward on greedy completions; with answers, exact-answer accuracy, pass@k."""
    from fai_rl.tracking.task_metrics import answer_metrics, as_completions, complete  # heavy (torch)

    prompts = list(eval_ds["prompt"])
    columns = {c: list(eval_ds[c]) for c in eval_ds.column_names if c != "prompt"}
    length = run.evaluation.max_new_tokens or run.algorithm.max_completion_length
    batch = run.training.per_device_eval_batch_size
    texts = complete(model, tokenizer, prompts, length, batch, progress=True)
    completions = as_completions(prompts, texts)
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    metrics, total = {}, [0.0] * len(prompts)
    for reward in resolve(run.algorithm.rewards):
        values = reward.fn(prompts=prompts, completions=completions, completion_ids=ids, **columns)
        scored = [v for v in values if v is not None]
        metrics[f"eval_rewards/{reward.name}/mean"] = sum(scored) / max(len(scored), 1)
        total = [t + reward.weight * (v or 0.0) for t, v in zip(total, values)]
    metrics["eval_reward"] = sum(total) / len(total)
    if "answer" in columns:
        metrics.update(answer_metrics(model, tokenizer, prompts, columns["answer"], texts, run.evaluation.pass_k,
                                      length, batch, run.algorithm.temperature))
    metrics["eval_completions/mean_length"] = sum(map(len, ids)) / len(ids)
    return metrics
