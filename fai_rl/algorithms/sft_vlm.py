"""SFT_VLM — supervised fine-tuning of a vision-language model on TRL's SFTTrainer (FAI-RL's sft_vlm): rows with
images and videos (data.datasets[].image_columns / video_columns: URLs, paths, s3:// URIs or bytes), the model's
processor as the trainer's processing class.

The data takes SFT's forms and FAI-RL's templates (fai_rl/data/sft.py), the images and each video's
data.video_num_frames frames (as images) put before the first user turn's text (fai_rl/data/vlm.py); split mode (data.user_prompt + data.assistant_prompt) and prompt/completion data
learn the answer only, a single template every token. One padded row an example (TRL packs no images). The
vision tower stays frozen with model.freeze_vision_tower; LoRA adapts the language model only.
Evaluation reports TRL's eval loss and mean token accuracy on the eval split, before and after training.
"""
from __future__ import annotations

from dataclasses import dataclass

from fai_rl.algorithms._contract import MemoryProfile
from fai_rl.config.schema import MEDIA_LIMITS, AlgorithmConfig, media_setting_problem, redefault, setting
from fai_rl.data.templates import check_sft_templates
from fai_rl.errors import ConfigError

OBJECTIVE = "eval_loss"
HEADLINE = ["eval_loss", "eval_mean_token_accuracy"]
TRAIN_REWARD = None
MODEL_HEAD = "image_text"  # the contract's hook: the processor and the image-text model (fai_rl.models.loading)
PATCH_DEFAULT = 14  # the vision patch side of Qwen-VL and most SigLIP/CLIP towers, when the model's is unknown


@dataclass
class Settings(AlgorithmConfig):
    name: str = redefault(AlgorithmConfig, "name", "sft_vlm")
    trainer: str = redefault(AlgorithmConfig, "trainer", "sft_vlm")
    completion_only_loss: bool = setting(True, "Loss on the answer only (prompt/completion data and split mode); a "
                                               "single template trains on every token.")


def check(run) -> None:
    """FAI-RL's data templates parse; the media settings are in range; every dataset names its images or videos."""
    check_sft_templates(run.data)
    for name in MEDIA_LIMITS:
        problem = media_setting_problem(name, getattr(run.data, name))
        if problem:
            raise ConfigError(f"'data.{name}' {problem}")
    for group in ("datasets", "eval_datasets"):
        for i, spec in enumerate(getattr(run.data, group)):
            if not spec.image_columns and not spec.video_columns:
                raise ConfigError(f"data.{group}[{i}] ('{spec.name}') names no image_columns or video_columns: "
                                  "sft_vlm needs each row's images or videos, e.g. image_columns: [image]")


def examples_per_row(settings: Settings) -> int:
    return 1


def image_tokens(run) -> int:
    """Vision-tower tokens one row keeps for backward: none when model.freeze_vision_tower (nothing below the
    language model needs gradients; the merged image tokens the language model reads count within data.max_length),
    else data.max_image_pixels over the patch area per image, an image column and each of a video column's
    data.video_num_frames frames counting one (an upper bound: the tower's layers are counted as the language
    model's)."""
    if run.model.freeze_vision_tower:
        return 0
    from fai_rl.models.shape import known_shapes  # light: JSON only

    vision = known_shapes().get(run.model.base_model_name, {}).get("vision_config", {})
    patch = vision.get("patch_size", PATCH_DEFAULT)
    pixels = run.data.max_image_pixels or vision.get("image_size", 448) ** 2
    per_row = [len(spec.image_columns) + len(spec.video_columns) * run.data.video_num_frames
               for spec in run.data.datasets]
    return max(per_row, default=1) * pixels // (patch * patch)


def memory_profile(run) -> MemoryProfile:
    """No reference model; a row is up to data.max_length tokens, plus its images' vision-tower tokens when the
    tower trains."""
    return MemoryProfile(reference_model=False, tokens_per_row=run.data.max_length + image_tokens(run))


def generation_server(run) -> None:
    return None


def recipe_keys(name: str) -> dict:
    return {}


def load_data(run, tokenizer):
    from fai_rl.data.vlm import load_vlm_data  # heavy (datasets, PIL)

    train = load_vlm_data(run.data.datasets, run.data)
    evals = load_vlm_data(run.data.eval_datasets, run.data, "data.eval_datasets") if run.data.eval_datasets else None
    return train, evals


def build_trainer(run, model, tokenizer, train_ds, eval_ds, args: dict, peft_config=None):
    from trl import SFTConfig, SFTTrainer  # heavy

    from fai_rl.models.loading import language_model_lora  # heavy (torch)

    answers_only = run.algorithm.completion_only_loss and "completion" in train_ds.column_names
    config = SFTConfig(**args, max_length=run.data.max_length, packing=False, padding_free=False,
                       completion_only_loss=answers_only)
    return SFTTrainer(model=model, args=config, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=language_model_lora(model, peft_config))


def evaluate(trainer) -> dict:
    return trainer.evaluate()


def evaluate_model(run, model, tokenizer, eval_ds, model_path: str, args: dict) -> dict:
    return evaluate(build_trainer(run, model, tokenizer, eval_ds, eval_ds, args))
