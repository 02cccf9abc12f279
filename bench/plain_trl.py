"""The bench's "plain TRL" side: a hand-written TRL script that trains fai-rl's default jobs without fai-rl.

    python bench/plain_trl.py dpo|grpo|gspo|sft --out result.json [--steps N] [--seed S] [--eval]
                              [--trl-defaults] [--set key=value ...] [--model PATH] [--device cpu|cuda]

It builds nothing of fai-rl's pipeline (no Hydra, no schema, no fai_rl.train): the same tiny model folder
(fai_rl.models.tiny.tiny_model_path), the same bundled JSONL data loaded with `datasets`, the same reward function,
and TRL's DPOTrainer/GRPOTrainer with the hyperparameters of fai-rl's default jobs written out below by hand.
`--trl-defaults` leaves the options fai-rl chooses differently from TRL (bf16, gradient checkpointing, reference
log-prob precomputation) at TRL's defaults; `--set` changes any config field (values parsed as JSON when they can be).
`--device cuda` trains as fai-rl's hardware=gpu model.torch_dtype=bfloat16 does: bf16 weights, bf16 mixed precision.
The result (timings, last logged training metrics, eval metrics) is written as JSON to --out.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

STARTED = time.time()
REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "fai_rl" / "data" / "bundled"

# TrainingArguments of fai-rl's default job (conf/train.yaml, hardware=cpu), written out by hand.
TRAINING = dict(
    per_device_train_batch_size=8, per_device_eval_batch_size=8, gradient_accumulation_steps=1,
    learning_rate=5e-4, num_train_epochs=3, max_steps=400, warmup_steps=0, lr_scheduler_type="linear",
    weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch_fused", seed=42, data_seed=42, logging_steps=10,
    save_strategy="steps", save_steps=500, save_total_limit=2, save_only_model=True, eval_strategy="no",
    dataloader_num_workers=0, dataloader_pin_memory=False, dataloader_drop_last=True, prediction_loss_only=True,
    remove_unused_columns=False, use_cpu=True, report_to=[], disable_tqdm=True,
)
# Where fai-rl's defaults differ from TRL's (TRL: bf16=True, gradient_checkpointing=True).
FAI_RL_CHOICES = dict(bf16=False, fp16=False, gradient_checkpointing=False)

DPO = dict(beta=0.1, loss_type=["sigmoid"], label_smoothing=0.0, max_length=64)
DPO_FAI_RL_CHOICES = dict(precompute_ref_log_probs=True)  # conf/algorithm/dpo.yaml

# conf/algorithm/sft.yaml on conf/data/tiny_sft.yaml (tiny_prefs' prompts with their chosen answers)
SFT = dict(max_length=64, completion_only_loss=True)
SFT_FAI_RL_CHOICES = dict(packing=True, eval_packing=False)  # TRL: packing=False

# conf/algorithm/grpo.yaml + conf/tuned/tiny_vowels_grpo.yaml (data: tiny_vowels, reward: letter_share)
GRPO = dict(
    per_device_train_batch_size=16, per_device_eval_batch_size=16, learning_rate=3e-3, max_steps=80,
    logging_steps=5, num_generations=8, num_generations_eval=8, steps_per_generation=None, num_iterations=1,
    max_completion_length=16, temperature=1.0, top_p=1.0, beta=0.0, epsilon=0.2, epsilon_high=None,
    loss_type="dapo", importance_sampling_level="token", scale_rewards="group", mask_truncated_completions=False,
    reward_weights=[1.0], log_completions=False,
)
# conf/algorithm/gspo.yaml + conf/tuned/tiny_vowels_gspo.yaml: GRPO with sequence-level importance sampling.
GSPO = dict(
    GRPO, learning_rate=5e-3, num_generations=4, num_generations_eval=4, importance_sampling_level="sequence",
    loss_type="grpo", epsilon=3e-4, epsilon_high=4e-4, steps_per_generation=4,
)


def parse_value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("algorithm", choices=["dpo", "grpo", "gspo", "sft"])
    p.add_argument("--out", required=True, help="where to write the result JSON")
    p.add_argument("--steps", type=int, help="max_steps (default: fai-rl's default job)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--eval", action="store_true", help="evaluate on the test split after training")
    p.add_argument("--trl-defaults", action="store_true", help="TRL's defaults for bf16, gradient checkpointing, "
                   "precompute_ref_log_probs instead of fai-rl's")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any DPOConfig/GRPOConfig field")
    p.add_argument("--model", help="model folder (default: the built-in tiny model)")
    p.add_argument("--data", help="training JSONL (default: the algorithm's bundled train split)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    return p.parse_args(argv)


def config_kwargs(args, output_dir: str) -> dict:
    """All config fields of the job: shared training arguments, the algorithm's, fai-rl's choices, --set."""
    algo = {"dpo": DPO, "grpo": GRPO, "gspo": GSPO, "sft": SFT}[args.algorithm]
    kwargs = dict(TRAINING, **algo, output_dir=output_dir, seed=args.seed, data_seed=args.seed)
    if not args.trl_defaults:
        kwargs.update(FAI_RL_CHOICES, **{"dpo": DPO_FAI_RL_CHOICES, "sft": SFT_FAI_RL_CHOICES}.get(args.algorithm, {}))
    if args.device == "cuda":  # fai-rl's hardware=gpu: bf16 mixed precision on the GPU
        kwargs.update(use_cpu=False, bf16=True)
    if args.steps:
        kwargs["max_steps"] = args.steps
    for item in args.set:
        key, _, value = item.partition("=")
        kwargs[key] = parse_value(value)
    return kwargs


def last_training_metrics(log_history: list) -> dict:
    """The last logged value of every (non-eval) numeric training metric."""
    merged = {}
    for record in log_history:
        merged.update({k: v for k, v in record.items() if not k.startswith("eval_") and isinstance(v, (int, float))})
    return merged


def build_trainer(args, model, tokenizer, train_ds, eval_ds, output_dir: str):
    kwargs = config_kwargs(args, output_dir)
    if args.algorithm == "dpo":
        from trl import DPOConfig, DPOTrainer

        return DPOTrainer(model=model, args=DPOConfig(**kwargs), train_dataset=train_ds, eval_dataset=eval_ds,
                          processing_class=tokenizer)
    if args.algorithm == "sft":
        from trl import SFTConfig, SFTTrainer

        return SFTTrainer(model=model, args=SFTConfig(**kwargs), train_dataset=train_ds, eval_dataset=eval_ds,
                          processing_class=tokenizer)
    from trl import GRPOConfig, GRPOTrainer

    from fai_rl.rewards.builtin import letter_share  # the task's reward (the data's definition, not the pipeline)

    return GRPOTrainer(model=model, reward_funcs=[letter_share], args=GRPOConfig(**kwargs), train_dataset=train_ds,
                       eval_dataset=eval_ds, processing_class=tokenizer)


def main(argv=None) -> dict:
    args = parse_args(argv)
    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    from fai_rl.models.tiny import tiny_model_path

    datasets.disable_progress_bars()
    set_seed(args.seed)
    path = args.model or str(tiny_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    folder = DATA / ("tiny_vowels" if args.algorithm in ("grpo", "gspo") else "tiny_prefs")
    train_ds = datasets.load_dataset("json", data_files=args.data or str(folder / "train.jsonl"), split="train")
    eval_ds = (datasets.load_dataset("json", data_files=str(folder / "test.jsonl"), split="train")
               if args.eval else None)
    if args.algorithm == "sft" and not args.data:  # tiny_sft: the prompt and its chosen answer
        train_ds, eval_ds = [ds.rename_column("chosen", "completion").remove_columns("rejected") if ds else ds
                             for ds in (train_ds, eval_ds)]
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="sdpa")
    output_dir = str(Path(args.out).with_suffix("")) + "-model"

    build_started = time.time()
    trainer = build_trainer(args, model, tokenizer, train_ds, eval_ds, output_dir)
    train_started = time.time()
    result = trainer.train()
    train_ended = time.time()
    eval_metrics = trainer.evaluate() if args.eval else {}
    trainer.save_model(output_dir)
    tokenizer.save_pretrained(output_dir)

    report = {
        "algorithm": args.algorithm,
        "steps": trainer.state.global_step,
        "samples": trainer.state.global_step * trainer.args.per_device_train_batch_size
        * trainer.args.gradient_accumulation_steps,
        "build_s": train_started - build_started,  # trainer construction (DPO's precomputed log-probs happen here)
        "train_s": train_ended - train_started,
        "train_runtime": result.metrics["train_runtime"],
        "final_metrics": last_training_metrics(trainer.state.log_history),
        "eval": eval_metrics,
        "effective": {k: getattr(trainer.args, k, None) for k in
                      ("bf16", "gradient_checkpointing", "precompute_ref_log_probs", "padding_free",
                       "steps_per_generation")},
        "process_s": time.time() - STARTED,
    }
    if args.device == "cuda":
        report["peak_gpu_allocated_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30
    if args.algorithm == "dpo":
        report["effective"]["padding_free_used"] = trainer.padding_free
    Path(args.out).write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("WANDB_MODE", "disabled")
    main()
