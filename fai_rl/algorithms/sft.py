"""SFT — supervised fine-tuning on TRL's SFTTrainer: the stage before DPO, GRPO and GSPO.

Loss on the completion only by default (prompt/completion and chat data, FAI-RL's split mode: data.user_prompt +
data.assistant_prompt); plain text and FAI-RL's single template (data.system_prompt with {column} fields) train on
every token (fai_rl/data/sft.py).
Evaluation reports TRL's eval loss and mean token accuracy on the eval split, before and after training.
"""
from __future__ import annotations

from dataclasses import dataclass

from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.data.templates import check_sft_templates
from fai_rl.errors import ConfigError

OBJECTIVE = "eval_loss"  # a sweep minimises it (its name says loss)
HEADLINE = ["eval_loss", "eval_mean_token_accuracy"]
TRAIN_REWARD = None  # no reward: the alarm has nothing to watch


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "sft")
    trainer: str = redefault(AlgorithmConfig, "trainer", "sft")
    completion_only_loss: bool = setting(True, "Loss on the completion tokens only (prompt/completion and chat "
                                               "data); plain text data trains on every token.")
    packing: bool = setting(True, "Pack several examples into each sequence of data.max_length tokens: TRL's "
                                  "best-fit packing, padding-free, each example attending only to itself (the "
                                  "same loss as unpacked, no compute spent on padding); false: one padded row "
                                  "per example.")


def check(run) -> None:
    """FAI-RL's data templates: user_prompt and assistant_prompt together, every template parses."""
    check_sft_templates(run.data)


def examples_per_row(settings: Settings) -> int:
    return 1


def memory_profile(run) -> MemoryProfile:
    """No reference model; a row is up to data.max_length tokens."""
    return MemoryProfile(reference_model=False, tokens_per_row=run.data.max_length)


def generation_server(run) -> None:
    return None  # samples nothing


def recipe_keys(name: str) -> dict:
    return {}  # FAI-RL recipes' training.* keys it reads are its own algorithm.* fields


def load_data(run, tokenizer):
    from fai_rl.data.sft import load_sft_data  # heavy (datasets)

    train = load_sft_data(run.data.datasets, run.data)
    evals = load_sft_data(run.data.eval_datasets, run.data, "data.eval_datasets") if run.data.eval_datasets else None
    return train, evals


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    trainer = _trainer(run, model, tokenizer, train_ds, eval_ds, args, peft_config)
    check_packed_rows(run, trainer, len(train_ds))
    return trainer


def _trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import SFTConfig, SFTTrainer  # heavy: imported when a trainer is built, not while validating

    a = run.algorithm
    config = SFTConfig(**args, max_length=run.data.max_length, packing=a.packing, eval_packing=False,
                       completion_only_loss=a.completion_only_loss)  # eval: one row an example, as before packing
    return SFTTrainer(model=model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=peft_config)


def check_packed_rows(run, trainer, rows: int) -> None:
    """Packing turns the data's rows into fewer sequences of data.max_length tokens: at least one optimizer step's
    worth must remain (an epoch with no full batch would train nothing)."""
    packed = len(trainer.train_dataset)
    if run.algorithm.packing and packed < run.effective_batch_size:
        raise ConfigError(f"algorithm.packing=true packs the {rows} training rows into {packed} sequence(s) of "
                          f"data.max_length={run.data.max_length} tokens, fewer than one optimizer step's "
                          f"{run.effective_batch_size} (training.per_device_train_batch_size x "
                          "gradient_accumulation_steps x processes); lower the batch, or set algorithm.packing=false")


def evaluate(trainer) -> dict:
    """TRL's eval loss and mean token accuracy on the eval split."""
    return trainer.evaluate()


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on SFT data: eval loss and mean token accuracy of the saved model."""
    return evaluate(_trainer(run, model, tokenizer, eval_ds, eval_ds, args))
