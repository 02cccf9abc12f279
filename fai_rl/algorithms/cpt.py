"""CPT — continued pretraining: next-token prediction on raw text, packed into data.max_length-token blocks
(TRL's SFTTrainer on the `text` column, as FAI-RL's cpt trainer does).

Each dataset's text_column (default text) is the corpus; blank rows are left out. Evaluation reports the eval
loss (its exp is the held-out perplexity) and mean token accuracy on the eval split, before and after training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fai_rl.algorithms import sft
from fai_rl.config.schema import AlgorithmConfig, redefault, setting

OBJECTIVE = "eval_loss"  # a sweep minimises it: held-out perplexity is exp(eval_loss)
HEADLINE = ["eval_loss", "eval_mean_token_accuracy"]
TRAIN_REWARD = None  # no reward: the alarm has nothing to watch


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "cpt")
    trainer: str = redefault(AlgorithmConfig, "trainer", "cpt")
    packing: bool = setting(True, "Pack the text into sequences of data.max_length tokens (no padding); false: "
                                  "one row a sequence, cut at data.max_length.")
    packing_strategy: Literal["wrapped", "bfd_split", "bfd"] = setting(
        "wrapped", "How TRL packs: wrapped concatenates the texts and cuts blocks (pretraining's way, every token "
                   "kept); bfd_split fits whole texts into blocks, splitting longer ones; bfd truncates them.")


def check(run) -> None:
    """Nothing beyond the shared rules: CPT reads the text column as it is."""


# a row is one example, a block of data.max_length tokens, no reference model, nothing sampled: as SFT
examples_per_row, memory_profile, generation_server = sft.examples_per_row, sft.memory_profile, sft.generation_server


def recipe_keys(name: str) -> dict:
    return {}  # FAI-RL's cpt recipes carry no training.* keys of the algorithm's own


def load_data(run, tokenizer):
    from fai_rl.data.sft import load_text_data  # heavy (datasets)

    train = load_text_data(run.data.datasets)
    evals = load_text_data(run.data.eval_datasets, "data.eval_datasets") if run.data.eval_datasets else None
    return train, evals


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    trainer = _trainer(run, model, tokenizer, train_ds, eval_ds, args, peft_config)
    sft.check_packed_rows(run, trainer, len(train_ds))
    return trainer


def _trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import SFTConfig, SFTTrainer  # heavy: imported when a trainer is built, not while validating

    a = run.algorithm
    config = SFTConfig(**args, max_length=run.data.max_length, dataset_text_field="text", packing=a.packing,
                       packing_strategy=a.packing_strategy, eval_packing=False,  # eval: one row a text
                       completion_only_loss=False)
    return SFTTrainer(model=model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=peft_config)


evaluate = sft.evaluate  # TRL's eval loss and mean token accuracy on the eval split


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    """fai-rl-eval on text data: eval loss and mean token accuracy of the saved model."""
    return evaluate(_trainer(run, model, tokenizer, eval_ds, eval_ds, args))
