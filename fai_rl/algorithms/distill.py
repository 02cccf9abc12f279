"""On-policy distillation (Agarwal et al., 2024, arXiv:2306.13649) on TRL's DistillationTrainer: the student
samples completions for the prompts itself and is trained to match the teacher's next-token distributions on them,
under the generalized Jensen-Shannon divergence (beta: 0 forward KL, 0.5 JSD, 1 reverse KL).

The teacher (algorithm.teacher: a model folder, a hub id or run:NAME) must share the student's tokenizer: checked
when the trainer is built, before training. Evaluation reports the divergence on completions the student samples
for the held-out prompts (eval_loss), before and after training.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.algorithms._sampling.settings import check_prompt_fits
from fai_rl.config.paths import BUILTIN_PREFIX, RUN_PREFIX, check_model_name, newest_run_model
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.errors import ConfigError

OBJECTIVE = "eval_loss"  # the divergence to the teacher on held-out prompts: a sweep minimises it
HEADLINE = ["eval_loss", "eval_entropy"]
TRAIN_REWARD = None  # no reward: the alarm has nothing to watch


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "distill")
    trainer: str = redefault(AlgorithmConfig, "trainer", "distill")
    teacher: str = setting("builtin:tiny", "The model to distil: a model folder, a hub id or run:<run_name> (the "
                                           "newest finished model of that run); it must use the student's "
                                           "tokenizer.")
    max_completion_length: int = setting(128, "Tokens the student generates per completion (> 0); "
                                              "data.max_prompt_length + this must fit in data.max_length.")
    temperature: float = setting(1.0, "Sampling temperature of the student's completions, and of both "
                                      "distributions in the loss (> 0).")
    top_p: float = setting(1.0, "Nucleus sampling probability mass of the student's completions, in (0, 1].")
    beta: float = setting(1.0, "Generalized JSD interpolation, in [0, 1]: 0 forward KL (teacher || student), "
                               "0.5 JSD, 1 reverse KL (student || teacher, mode-seeking; arXiv:2306.13649).")


def teacher_path(teacher: str) -> str:
    """algorithm.teacher as a loadable name: run:NAME -> its newest finished model; a local folder checked; a hub id
    or builtin:tiny as it is."""
    try:
        if teacher.startswith(RUN_PREFIX):
            return newest_run_model(teacher)
        return teacher if teacher.startswith(BUILTIN_PREFIX) else check_model_name(teacher)
    except ConfigError as err:
        raise ConfigError(str(err).replace("model.base_model_name", "algorithm.teacher", 1)) from None


def check(run) -> None:
    a = run.algorithm
    if not a.teacher or not a.teacher.strip():
        raise ConfigError("'algorithm.teacher' is empty; give the model to distil: a folder, a hub id or run:NAME")
    teacher_path(a.teacher)
    if a.max_completion_length <= 0 or a.temperature <= 0:
        raise ConfigError(f"'algorithm.max_completion_length' ({a.max_completion_length}) and "
                          f"'algorithm.temperature' ({a.temperature}) must be > 0")
    if not 0 < a.top_p <= 1:
        raise ConfigError(f"'algorithm.top_p' must be in (0, 1], got {a.top_p}")
    if not 0 <= a.beta <= 1:
        raise ConfigError(f"'algorithm.beta' must be in [0, 1] (0 forward KL, 1 reverse KL), got {a.beta}")
    check_prompt_fits(run)


def examples_per_row(settings: Settings) -> int:
    return 1  # one completion per prompt


def memory_profile(run) -> MemoryProfile:
    """The teacher is a second model held beside the student (counted as the reference, the same size when it
    shares the student's shape); a row is prompt + completion, generated on this process."""
    return MemoryProfile(reference_model=True,
                         tokens_per_row=run.data.max_prompt_length + run.algorithm.max_completion_length,
                         generated_rows=run.training.per_device_train_batch_size,
                         generated_tokens=run.algorithm.max_completion_length)


def generation_server(run) -> None:
    return None  # the student generates inside the training processes


def recipe_keys(name: str) -> dict:
    return {}  # FAI-RL recipes' training.* keys it reads are its own algorithm.* fields


def load_data(run, tokenizer):
    from fai_rl.data.prompts import load_prompt_data  # heavy (datasets)

    train = load_prompt_data(run.data.datasets, run.data, tokenizer, "data.datasets")
    evals = (load_prompt_data(run.data.eval_datasets, run.data, tokenizer, "data.eval_datasets")
             if run.data.eval_datasets else None)
    return train, evals


def load_teacher(run, tokenizer):
    """The teacher model, after checking that its tokenizer is the student's (one line naming algorithm.teacher)."""
    from fai_rl.models.loading import load_model, load_tokenizer, resolve_model_path  # heavy (torch)

    spec = dataclasses.replace(run.model, base_model_name=teacher_path(run.algorithm.teacher))
    path = resolve_model_path(spec.base_model_name)
    try:
        theirs = load_tokenizer(spec, path)
    except ConfigError as err:
        raise ConfigError(str(err).replace("model.base_model_name", "algorithm.teacher", 1)) from None
    if theirs.get_vocab() != tokenizer.get_vocab():
        raise ConfigError(f"algorithm.teacher '{run.algorithm.teacher}' uses another tokenizer than the student "
                          f"'{run.model.base_model_name}' ({len(theirs)} vs {len(tokenizer)} tokens, or the same "
                          "count with other ids): distillation compares their next-token distributions token by "
                          "token, so give a teacher of the student's model family")
    return load_model(spec, run.hardware, path)


def _trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import DistillationConfig, DistillationTrainer  # heavy: imported when a trainer is built

    a = run.algorithm
    config = DistillationConfig(**args, max_completion_length=a.max_completion_length, temperature=a.temperature,
                                top_p=a.top_p, beta=a.beta, log_completions=False)
    return DistillationTrainer(model=model, teacher_model=load_teacher(run, tokenizer), args=config,
                               train_dataset=train_ds, eval_dataset=eval_ds, processing_class=tokenizer,
                               peft_config=peft_config)


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    return _trainer(run, model, tokenizer, train_ds, eval_ds, args, peft_config)


def evaluate(trainer) -> dict:
    """The divergence to the teacher on completions the student samples for the eval prompts (eval_loss)."""
    return trainer.evaluate()


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on prompt data: the saved model's divergence to algorithm.teacher on its own completions."""
    return evaluate(_trainer(run, model, tokenizer, eval_ds, eval_ds, args))
