"""The TrainingArguments every TRL trainer shares, from the training, hardware and wandb sections."""
from __future__ import annotations

from fai_rl import algorithms
from fai_rl.config.derived import launched
from fai_rl.config.run_files import run_files
from fai_rl.config.schema import RunConfig


def distributed_args(run: RunConfig) -> dict:
    """How processes find each other. On CPU: use_cpu for one process and plain DDP (measured: with
    use_cpu=False Accelerate leaves several processes NOT_PARALLEL, each training its own copy); DeepSpeed on
    CPU uses the process group start_process_group made (Accelerate alone would count one process)."""
    h = run.hardware
    cpu_deepspeed = h.device == "cpu" and h.zero_stage > 0
    args = dict(
        use_cpu=h.device == "cpu" and h.zero_stage == 0,
        ddp_backend="gloo" if h.device == "cpu" and launched(run) else None,
        deepspeed=str(run_files(run).deepspeed.resolve()) if h.zero_stage > 0 else None,
    )
    if cpu_deepspeed:
        args["accelerator_config"] = {"use_configured_state": True}
    return args


def reporters(run: RunConfig) -> list:
    """The trackers HF's Trainer reports to: wandb (its callback then runs on a thread of its own,
    tracking.trackers); MLflow and TensorBoard are fed by fai-rl's own callbacks (same names as metrics.jsonl)."""
    return ["wandb"] if run.wandb.enabled else []


def best_model_metric(run: RunConfig):
    """The eval metric that picks the best checkpoint (eval_-prefixed, as logged), or None when none is tracked."""
    t = run.training
    name = t.metric_for_best_model or (algorithms.load(run.algorithm.trainer).OBJECTIVE
                                       if t.load_best_model_at_end else None)
    return name if name is None or name.startswith("eval_") else f"eval_{name}"


def best_model_args(run: RunConfig) -> dict:
    """HF's best-checkpoint arguments (the Trainer tracks the best metric at every evaluation during training)."""
    t = run.training
    return dict(load_best_model_at_end=t.load_best_model_at_end, metric_for_best_model=best_model_metric(run),
                greater_is_better=t.greater_is_better)


def common_args(run: RunConfig) -> dict:
    t = run.training
    eval_on = t.eval_steps is not None and run.evaluates
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
        **best_model_args(run),
        bf16=run.use_bf16,
        fp16=run.use_fp16,
        activation_checkpointing=t.gradient_checkpointing,  # the seed name; transformers 5 renamed it
        dataloader_num_workers=t.dataloader_num_workers,
        dataloader_pin_memory=t.dataloader_pin_memory,
        dataloader_drop_last=t.dataloader_drop_last,
        save_only_model=t.save_only_model,
        prediction_loss_only=t.prediction_loss_only,
        remove_unused_columns=run.data.remove_unused_columns,
        **distributed_args(run),
        report_to=reporters(run),
        disable_tqdm=not t.progress_bar,
        logging_nan_inf_filter=False,  # its NaN test reads the loss every micro-step (a GPU sync); FiniteLoss stops
    )
