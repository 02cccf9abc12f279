"""The TrainingArguments every TRL trainer shares, from the training, hardware and wandb sections."""
from __future__ import annotations

from pathlib import Path

from fai_rl.config.schema import RunConfig


def common_args(run: RunConfig) -> dict:
    t = run.training
    eval_on = t.eval_steps is not None and bool(run.data.eval_datasets)
    return dict(
        output_dir=t.output_dir,
        run_name=t.run_name,
        per_device_train_batch_size=t.per_device_train_batch_size,
        per_device_eval_batch_size=t.per_device_eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps,
        learning_rate=t.learning_rate,
        num_train_epochs=t.num_train_epochs,
        max_steps=t.max_steps,
        warmup_steps=t.warmup_steps,
        lr_scheduler_type=t.lr_scheduler_type,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        optim=t.optim,
        seed=t.seed,
        data_seed=t.seed,
        logging_steps=t.logging_steps,
        save_strategy="steps",
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        eval_strategy="steps" if eval_on else "no",
        eval_steps=t.eval_steps if eval_on else None,
        bf16=run.use_bf16,
        fp16=run.use_fp16,
        activation_checkpointing=t.gradient_checkpointing,  # the seed name; transformers 5 renamed it
        dataloader_num_workers=t.dataloader_num_workers,
        dataloader_pin_memory=t.dataloader_pin_memory,
        dataloader_drop_last=t.dataloader_drop_last,
        save_only_model=t.save_only_model,
        prediction_loss_only=t.prediction_loss_only,
        remove_unused_columns=run.data.remove_unused_columns,
        use_cpu=run.hardware.device == "cpu" and run.world_size == 1,
        report_to=["wandb"] if run.wandb.enabled else [],
        disable_tqdm=not t.progress_bar,
    )
