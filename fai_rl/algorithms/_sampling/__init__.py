"""What the algorithms that sample groups of completions for prompts and score them with rewards share (GRPO, GSPO,
RLOO): their common settings and checks (settings), how completions are sampled and the vLLM server of server mode
(generation), a prompt order a resumed run reproduces (resumable), DAPO's dynamic sampling (dynamic), and here the
contract functions that do not depend on the loss: memory, data, task metrics, evaluation of a saved model.

Light at this level (no torch/TRL): the trainer mixins live in resumable and dynamic, imported when a trainer is built.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from fai_rl.algorithms._contract import GenerationServer, MemoryProfile
from fai_rl.algorithms._sampling.generation import colocated_share, server_for
from fai_rl.algorithms._sampling.settings import steps_per_generation
from fai_rl.errors import ConfigError
from fai_rl.rewards import resolve

OBJECTIVE = "eval_reward"  # mean total reward on the eval prompts (train `reward` when there are none)
HEADLINE = ["eval_reward", "eval_reward_std", "eval_frac_reward_zero_std", "eval_completions/mean_length"]
TRAIN_REWARD = "reward"  # TRL's logged mean total reward of the training completions


def examples_per_row(settings) -> int:
    return settings.num_generations  # every prompt is sampled num_generations times


def memory_profile(run, reference_model: bool) -> MemoryProfile:
    """A reference model as the algorithm says; a full-length row is prompt + completion; a generation round holds
    the KV cache of every completion it generates on this process."""
    a, t, g = run.algorithm, run.training, run.algorithm.generation
    steps, _ = steps_per_generation(run)
    rows = g.batch_size // run.world_size if g.batch_size else t.per_device_train_batch_size * steps
    return MemoryProfile(reference_model=reference_model,
                         tokens_per_row=run.data.max_prompt_length + a.max_completion_length,
                         generated_rows=rows, vllm_share=colocated_share(g),
                         generated_tokens=a.max_completion_length if g.backend == "hf" else 0,
                         default_allocator=g.backend == "vllm" and g.vllm_mode == "colocate")


def generation_server(run) -> Optional[GenerationServer]:
    """The vLLM server of algorithm.generation.vllm_mode=server, else None."""
    return server_for(run)


def load_data(run, tokenizer):
    """Prompt data, with the columns the rewards read."""
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


def sampling_args(run) -> dict:
    """The config fields GRPOConfig and RLOOConfig share, from the shared settings (the vLLM ones apart)."""
    a = run.algorithm
    return dict(
        num_generations=a.num_generations, num_generations_eval=a.num_generations,
        steps_per_generation=a.steps_per_generation, num_iterations=a.num_iterations,
        max_completion_length=a.max_completion_length, temperature=a.temperature, top_p=a.top_p,
        beta=a.beta, epsilon=a.epsilon, epsilon_high=a.epsilon_high,
        mask_truncated_completions=a.mask_truncated_completions,
        reward_weights=[r.weight for r in resolve(a.rewards)], log_completions=False)


@lru_cache(maxsize=None)
def trainer_classes(base: type) -> tuple:
    """(`base` (GRPOTrainer or RLOOTrainer) with DAPO's dynamic sampling (its extra arguments: max_rounds,
    tolerance), `base` without it), both with the prompt order a resumed run reproduces."""
    # heavy (torch, trl): the mixins load only when a trainer is built
    from fai_rl.algorithms._sampling.dynamic import DynamicSamplingMixin
    from fai_rl.algorithms._sampling.resumable import EpochSeededSampling

    resumable = type(f"Resumable{base.__name__}", (EpochSeededSampling, base), {})
    return type(f"DynamicSampling{base.__name__}", (DynamicSamplingMixin, resumable), {}), resumable


def build(run, base: type, config, model, tokenizer, train_ds, eval_ds, peft_config=None):
    """A trainer of class `base` over `config`, fed the run's rewards, with the task metrics on eval data that has
    answers."""
    from fai_rl.evaluation.task_metrics import TaskMetrics  # heavy (torch, transformers)

    rewards = resolve(run.algorithm.rewards)
    common = dict(model=model, reward_funcs=[r.fn for r in rewards], args=config, train_dataset=train_ds,
                  eval_dataset=eval_ds, processing_class=tokenizer, peft_config=peft_config)
    dynamic, resumable = trainer_classes(base)
    settings = run.algorithm.dynamic_sampling
    if settings.enabled:
        trainer = dynamic(**common, max_rounds=settings.max_rounds, tolerance=settings.tolerance)
    else:
        trainer = resumable(**common)
    if eval_ds is not None and "answer" in eval_ds.column_names:  # before fai-rl's callbacks that read its metrics
        trainer.add_callback(TaskMetrics(trainer, run, eval_ds, completion_tokens(run), run.algorithm.temperature))
    return trainer


def completion_tokens(run) -> int:
    """Length of the greedy completions the task metrics and fai-rl-eval score."""
    return run.evaluation.max_new_tokens or run.algorithm.max_completion_length


def evaluate(trainer) -> dict:
    """Rewards of completions sampled for the eval prompts (eval_reward, eval_rewards/<name>/mean, lengths)."""
    return trainer.evaluate()


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on prompt data: every reward on greedy completions; with answers, exact-answer accuracy, pass@k."""
    from fai_rl.evaluation.task_metrics import answer_metrics, as_completions, complete  # heavy (torch)

    prompts = list(eval_ds["prompt"])
    columns = {c: list(eval_ds[c]) for c in eval_ds.column_names if c != "prompt"}
    length = completion_tokens(run)
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
