"""Typed schema of a run: one dataclass per config section (names follow the seed recipe format).

Every field carries its default and its help text (`metadata["help"]`, TRL's style); conf/train.yaml holds only
what the default job changes, and docs/config.md is generated from here (`make docs`).
This module must stay free of torch/transformers/trl imports: it is read on every CLI start.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import List, Literal, Optional, Union

from fai_rl.config.hardware import DEFAULT_ALLOC_CONF

MISSING = "???"
GPU_WATCHDOG_S = 1800.0  # training.watchdog_s when null on CUDA: far above any step of the GPU presets


def setting(default, help_text: str):
    """A field with its default and help text; a list default is copied for every instance."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help_text})
    return field(default=default, metadata={"help": help_text})


def section(cls, help_text: str):
    """A field holding a nested section (a dataclass built with its own defaults), with help text."""
    return field(default_factory=cls, metadata={"help": help_text})


def redefault(base, name: str, default):
    """Field `name` of dataclass `base` with another default (a subclass's), keeping its help text."""
    (inherited,) = [f for f in dataclasses.fields(base) if f.name == name]
    return setting(default, inherited.metadata["help"])


@dataclass
class LoraConfig:
    enabled: bool = setting(False, "Train LoRA adapters instead of the full model (QLoRA with load_in_4bit/8bit).")
    r: int = setting(16, "Adapter rank (> 0).")
    alpha: int = setting(32, "LoRA scaling numerator: updates are scaled by alpha / r (> 0).")
    dropout: float = setting(0.05, "Dropout on the adapter inputs, in [0, 1).")
    target_modules: List[str] = setting(["all-linear"], "Modules that get adapters: [all-linear] or module "
                                                        "names, e.g. [q_proj, v_proj].")
    merge_on_save: bool = setting(False, "Also write <output_dir>/merged, a full model that loads without peft "
                                         "(not under ZeRO-3).")
    bias: Literal["none", "all", "lora_only"] = setting("none", "Which biases train with the adapters (peft's "
                                                                "bias): none, all, or those of adapted modules.")


@dataclass
class ModelConfig:
    base_model_name: str = setting("builtin:tiny", "Model to train: a hub name, a local model folder, "
                                                   "run:<run_name> (the newest finished model under "
                                                   "models/<run_name>/, e.g. an earlier SFT stage), or builtin:tiny "
                                                   "(a ~115k-parameter random Llama built locally).")
    torch_dtype: Literal["float32", "bfloat16", "float16", "auto"] = setting(
        "float32", "Dtype the weights load in; auto: the checkpoint's own.")
    low_cpu_mem_usage: bool = setting(True, "Accepted for seed recipes; transformers 5 always loads this way.")
    load_in_8bit: bool = setting(False, "Load 8-bit quantised weights (bitsandbytes, CUDA only; needs "
                                        "lora.enabled; not with load_in_4bit).")
    load_in_4bit: bool = setting(False, "Load 4-bit quantised weights (QLoRA: bitsandbytes, CUDA only; needs "
                                        "lora.enabled; not with load_in_8bit).")
    use_flash_attention: bool = setting(False, "Use flash_attention_2 instead of SDPA (CUDA, flash-attn installed).")
    bnb_4bit_compute_dtype: Optional[Literal["float32", "bfloat16", "float16"]] = setting(
        None, "4-bit: dtype the quantised layers compute in; null: torch_dtype (bfloat16 when that is auto).")
    bnb_4bit_quant_type: Literal["nf4", "fp4"] = setting("nf4", "4-bit: quantisation data type (QLoRA's nf4).")
    bnb_4bit_use_double_quant: bool = setting(True, "4-bit: also quantise the quantisation constants (QLoRA).")
    s3_endpoint_url: Optional[str] = setting(None, "Object storage endpoint for an s3:// base_model_name; null: "
                                                   "the provider's default.")
    s3_region: Optional[str] = setting(None, "Object storage region for an s3:// base_model_name.")
    trust_remote_code: bool = setting(False, "Allow a hub model's own Python code to run.")
    freeze_vision_tower: bool = setting(True, "Vision-language models (sft_vlm): keep the vision encoder's weights "
                                              "fixed, training the projector and language model (FAI-RL's default).")
    lora: LoraConfig = section(LoraConfig, "LoRA / QLoRA adapters.")


@dataclass
class DatasetSpec:
    """One dataset of data.datasets or data.eval_datasets."""

    name: str = setting(MISSING, "Required: a hub dataset, a local .json/.jsonl/.csv/.parquet file, or "
                                 "builtin:<name> (fai_rl/data/bundled/).")
    subset: Optional[str] = setting(None, "Hub dataset configuration (load_dataset's name); null: none.")
    split: str = setting("train", "Split to read, e.g. train or test.")
    prompt_column: str = setting("prompt", "Column holding the prompt (text or chat messages).")
    chosen_column: str = setting("chosen", "Preference data: column holding the preferred response.")
    rejected_column: str = setting("rejected", "Preference data: column holding the rejected response.")
    answer_column: Optional[str] = setting(None, "Prompt data: reference-answer column, passed to the rewards as "
                                                 "`answer`; null: none.")
    completion_column: str = setting("completion", "SFT data: column holding the completion to learn (with "
                                                    "prompt_column); left at completion, data with a response "
                                                    "column instead (FAI-RL's SFT files) learn that one.")
    messages_column: str = setting("messages", "SFT data: column holding chat conversations; the last assistant "
                                               "turn is learned.")
    text_column: str = setting("text", "SFT data: column holding plain text, learned token by token.")
    label_column: str = setting("label", "Unpaired preference data (KTO): column saying whether the completion "
                                         "(completion_column) is desirable, true or false.")
    max_samples: Optional[int] = setting(None, "Keep only the first N rows of this dataset (> 0); null: all rows.")
    dataset_columns: Optional[List[str]] = setting(None, "Keep only these columns of the dataset (each must "
                                                         "exist); null: all.")
    s3_endpoint_url: Optional[str] = setting(None, "Object storage endpoint for an s3:// name; null: the "
                                                   "provider's default.")
    s3_region: Optional[str] = setting(None, "Object storage region for an s3:// name.")
    image_columns: List[str] = setting([], "sft_vlm: columns holding each row's image(s): an http(s) URL, a local "
                                           "path, an s3:// URI or image bytes (parquet); a cell may hold a list. "
                                           "[]: none.")
    video_columns: List[str] = setting([], "sft_vlm: columns holding each row's video(s): an http(s) URL, a local "
                                           "path, an s3:// URI or video bytes; each becomes data.video_num_frames "
                                           "frames, given to the model as images after the row's images. []: none.")


# the media settings of DataConfig with a range: counts, sizes and timeouts > 0, retries >= 0 (None: no limit)
MEDIA_LIMITS = ("image_fetch_timeout", "image_fetch_retries", "max_image_pixels", "video_fetch_timeout",
                "video_fetch_retries", "video_num_frames", "video_fps")


def media_setting_problem(name: str, value) -> Optional[str]:
    """Why a MEDIA_LIMITS setting's value is out of range ("must be > 0, got 0"), or None when it is fine."""
    if value is not None and (value < 0 or (value == 0 and not name.endswith("_retries"))):
        return f"must be {'>= 0' if name.endswith('_retries') else '> 0'}, got {value}"
    return None


@dataclass
class DataConfig:
    datasets: List[DatasetSpec] = setting([], "Training datasets (at least one), combined into one.")
    eval_datasets: List[DatasetSpec] = setting([], "Held-out datasets evaluated before and after training (and "
                                                   "every training.eval_steps); []: none.")
    max_length: int = setting(2048, "Longest prompt + response in tokens (> 0).")
    max_prompt_length: int = setting(1024, "Prompt budget in tokens, < max_length: preference prompts keep their "
                                           "last N tokens, longer prompt-data prompts are left out.")
    remove_unused_columns: bool = setting(False, "Passed to the trainer; GRPO needs false when a reward reads a "
                                                 "dataset column.")
    system_prompt: Optional[str] = setting(None, "A system message put first (plain prompts become chat). SFT: one "
                                                 "with {column} fields is a str.format template over each row's "
                                                 "columns ({{ }} literal braces) whose text is the whole training "
                                                 "text, loss on every token (FAI-RL's single template); with "
                                                 "user_prompt/assistant_prompt it is the system turn. null: none.")
    user_prompt: Optional[str] = setting(None, "SFT: the user turn, a {column} template (e.g. \"{prompt}\"); with "
                                               "assistant_prompt, each row becomes a chat with the loss on the "
                                               "assistant turn only (FAI-RL's split mode). Both or neither. "
                                               "null: none.")
    assistant_prompt: Optional[str] = setting(None, "SFT: the assistant turn, a {column} template (e.g. "
                                                    "\"{response}\"), learned; set with user_prompt. null: none.")
    image_cache_dir: str = setting("data/vlm_image_cache", "sft_vlm: folder where fetched images are kept (shared "
                                                           "by the ranks and by later runs).")
    image_fetch_timeout: float = setting(15.0, "sft_vlm: seconds one image download may take (> 0).")
    image_fetch_retries: int = setting(3, "sft_vlm: further tries of an image download that failed (>= 0).")
    max_image_pixels: Optional[int] = setting(262144, "sft_vlm: larger images are scaled down to at most this many "
                                                      "pixels, keeping their shape (> 0); null: as they are.")
    media_errors: Literal["fail", "skip"] = setting("fail", "sft_vlm: a row whose image or video cannot be fetched "
                                                            "or decoded fails the run (fail, naming file, row and URL) "
                                                            "or is left out with a warning naming them (skip).")
    video_cache_dir: str = setting("data/vlm_video_cache", "sft_vlm: folder where fetched videos are kept (shared "
                                                           "by the ranks and by later runs).")
    video_fetch_timeout: float = setting(30.0, "sft_vlm: seconds one video download may take (> 0).")
    video_fetch_retries: int = setting(3, "sft_vlm: further tries of a video download that failed (>= 0).")
    video_num_frames: int = setting(8, "sft_vlm: frames taken from each video, spread evenly over it (> 0); with "
                                       "video_fps, the most taken. Each frame is an image (max_image_pixels).")
    video_fps: Optional[float] = setting(None, "sft_vlm: take frames at this rate from the start of each video "
                                               "(> 0), evenly thinned to video_num_frames when more; null: "
                                               "video_num_frames frames spread over the whole video.")
    video_backend: Literal["pyav"] = setting("pyav", "sft_vlm: the video decoder (PyAV, the av package).")
    prompt_template: Optional[str] = setting(None, "Prompt data: a template with {column} fields, e.g. "
                                                   "\"{prompt}\\nAnswer after ####.\", or fai_rl_math (FAI-RL's "
                                                   "math prompt: system prompt + one <think>/<answer> example, the "
                                                   "answer after ####); null: the prompt as is.")


@dataclass
class TrainingConfig:
    output_dir: str = setting("models/output", "Folder for checkpoints and the final model (must be new unless "
                                                "overwrite_output_dir or resume).")
    run_name: str = setting("fai-rl", "Name of the run (logs, W&B, default folder names).")
    overwrite_output_dir: bool = setting(False, "Allow training into an output_dir that already holds a model.")
    resume: Union[bool, str] = setting(False, "Continue a run: false; auto (the newest complete checkpoint "
                                              "in output_dir); or a checkpoint path. Needs save_only_model=false.")
    per_device_train_batch_size: int = setting(1, "Training examples per process and step (GRPO: completions).")
    per_device_eval_batch_size: int = setting(8, "Eval examples per process (GRPO: completions).")
    gradient_accumulation_steps: int = setting(16, "Batches accumulated per optimizer step (> 0); 16: an effective "
                                                   "batch of 16 per process at batch 1 (FAI-RL's default), enough "
                                                   "for a steady DPO/GRPO gradient on a real model.")
    learning_rate: float = setting(1.0e-6, "Peak learning rate (> 0). 1e-6 suits DPO/GRPO/GSPO on instruct models "
                                           "(typical 1e-7..1e-5; full SFT up to ~2e-5, LoRA ~1e-4); the tiny demo's "
                                           "5e-4 is for builtin:tiny only (conf/demo/tiny.yaml).")
    num_train_epochs: float = setting(3.0, "Passes over the training data; used when max_steps is -1.")
    max_steps: int = setting(-1, "Optimizer steps to train (> 0); -1: num_train_epochs decides.")
    warmup_steps: int = setting(50, "Steps of linear warm-up from 0 to learning_rate (>= 0); 50 (FAI-RL's "
                                    "default) keeps the first updates of a real model small.")
    lr_scheduler_type: str = setting("linear", "Transformers' scheduler name: linear, cosine, constant, ...")
    weight_decay: float = setting(0.0, "AdamW weight decay.")
    max_grad_norm: float = setting(1.0, "Gradient clipping norm.")
    optim: str = setting("adamw_torch_fused", "Transformers' optimizer name (TRL's default); offload needs an "
                                              "AdamW one.")
    seed: int = setting(42, "Seed of the model init, the sampling and the data order.")
    logging_steps: int = setting(5, "Log metrics every N optimizer steps (> 0).")
    save_steps: int = setting(100, "Write a checkpoint every N optimizer steps (> 0).")
    save_total_limit: Optional[int] = setting(None, "Checkpoints kept (the oldest are deleted); null: all.")
    eval_steps: Optional[int] = setting(None, "Evaluate every N steps (> 0); null: only before and after training.")
    eval_split_ratio: float = setting(0.0, "Hold out this share (0 <= r < 1) of the training rows, drawn with "
                                           "training.seed, as the eval data (FAI-RL's key); 0: none. Not with "
                                           "data.eval_datasets.")
    early_stopping: bool = setting(False, "Stop when the best-model metric (metric_for_best_model; null: the "
                                          "algorithm's objective) has not improved for early_stopping_patience "
                                          "evaluations; needs eval_steps, eval data and load_best_model_at_end.")
    early_stopping_patience: int = setting(3, "Evaluations without improvement before early stopping (> 0).")
    early_stopping_threshold: float = setting(0.0, "Least improvement (>= 0) of the metric that counts for early "
                                                   "stopping.")
    metric_for_best_model: Optional[str] = setting(
        None, "Eval metric that picks the best checkpoint (eval_ prefix optional, e.g. eval_exact_answer_accuracy); "
              "its best step is reported in summary.json. null: none tracked, or the algorithm's OBJECTIVE with "
              "load_best_model_at_end.")
    greater_is_better: Optional[bool] = setting(None, "Whether a higher metric_for_best_model is better; null: true "
                                                      "unless its name ends in loss.")
    load_best_model_at_end: bool = setting(False, "Save the best checkpoint's model as the final model (needs "
                                                  "eval_steps and save_steps a multiple of it).")
    bf16: Optional[bool] = setting(None, "bf16 mixed precision; null: follow hardware.mixed_precision.")
    fp16: Optional[bool] = setting(None, "fp16 mixed precision (not with bf16); null: follow "
                                         "hardware.mixed_precision.")
    gradient_checkpointing: bool = setting(False, "Recompute activations in backward: less memory, slower.")
    kernels: Literal["auto", "liger", "none"] = setting(
        "auto", "Fused GPU kernels: auto (Liger's RMSNorm, SwiGLU and RoPE kernels on CUDA where liger-kernel is "
                "installed and supports the model type; none on CPU), liger (the same, refused where it cannot "
                "apply), none. The fused LM-head loss is left out: TRL computes log-probs from the logits.")
    dataloader_num_workers: int = setting(0, "Data loader worker processes (>= 0; 0: load in the main process).")
    dataloader_pin_memory: bool = setting(False, "Pin data loader memory (faster host-to-GPU copies).")
    dataloader_drop_last: bool = setting(True, "Drop the last incomplete batch of an epoch.")
    save_only_model: bool = setting(True, "Checkpoints hold the model only; false: also optimizer, scheduler "
                                          "and RNG (needed to resume).")
    prediction_loss_only: bool = setting(True, "Evaluation returns the loss only, no logits.")
    objective_metric: Optional[str] = setting(None, "Summary metric a sweep optimises; null: the algorithm's "
                                                    "OBJECTIVE (dpo: eval_rewards/accuracies).")
    progress_bar: bool = setting(True, "Show progress bars; false: quiet logs for CI and batch jobs.")
    watchdog_s: Optional[float] = setting(None, "Stop the job when no training step completes in this many seconds "
                                                "(clock from train begin), writing every rank's stacks and naming "
                                                "the stuck rank(s); 0: off; null: 1800 on CUDA, off on CPU.")
    disk_headroom_gb: float = setting(1.0, "Free space (GB, >= 0) output_dir's filesystem must have beyond the "
                                           "estimated size of a checkpoint and the final model; checked before "
                                           "training starts.")


@dataclass
class WandbConfig:
    enabled: bool = setting(False, "Report to Weights & Biases (WANDB_MODE=offline works without a key).")
    project: str = setting("fai-rl", "W&B project.")
    entity: Optional[str] = setting(None, "W&B team or user; null: your default entity.")
    name: Optional[str] = setting(None, "W&B run name; null: training.run_name.")
    tags: List[str] = setting([], "W&B run tags.")
    api_key: Optional[str] = setting(None, "W&B API key for this run (given to wandb through the environment, "
                                           "never written to a file fai-rl writes); null: WANDB_API_KEY or wandb's "
                                           "own login.")
    group: Optional[str] = setting(None, "W&B run group; null: none for a single run, the sweep's folder name for "
                                         "the jobs of a sweep.")
    base_url: Optional[str] = setting(None, "W&B server URL (a self-hosted W&B); null: WANDB_BASE_URL or wandb's "
                                            "default.")


@dataclass
class TrackingConfig:
    """Trackers besides wandb: TensorBoard event files and an MLflow server."""

    tensorboard: bool = setting(False, "Write TensorBoard event files (the metrics of metrics.jsonl) to "
                                       "<run_dir>/tensorboard.")
    mlflow_tracking_uri: Optional[str] = setting(None, "MLflow tracking server (e.g. http://host:5000) or store; "
                                                       "null: no MLflow. Params: the resolved config; metrics: as "
                                                       "wandb's; artifacts: summary.json and the curves PNG.")
    mlflow_experiment: Optional[str] = setting(None, "MLflow experiment; null: training.run_name for a single run, "
                                                     "one experiment per sweep for its jobs.")


@dataclass
class UploadConfig:
    """Copies of complete checkpoints and the final model in object storage (fsspec: s3://, gs://, file://)."""

    url: Optional[str] = setting(None, "Destination folder, e.g. s3://bucket/prefix; the run's files go to "
                                       "<url>/<name of training.output_dir>/. null: no upload. Credentials come "
                                       "from the environment or the provider's own config files only.")
    endpoint_url: Optional[str] = setting(None, "Endpoint of an S3-compatible store; null: the provider's default.")
    region: Optional[str] = setting(None, "Region of the store; null: the provider's default.")
    checkpoints: bool = setting(True, "Upload every complete checkpoint (its completion marker last).")
    final_model: bool = setting(True, "Upload the final model with its model card.")
    delete_local_after_upload: bool = setting(False, "Delete a local checkpoint once its upload is verified (the "
                                                     "newest stays remote; training.resume=auto fetches it).")
    retries: int = setting(3, "Attempts per upload after the first, with a doubling wait (>= 0).")
    required: bool = setting(False, "A failed upload fails the run (exit 1); false: it is reported in the log and "
                                    "summary.json and training goes on.")


@dataclass
class HardwareConfig:
    name: str = setting("cpu", "Name of the preset (conf/hardware/<name>.yaml), shown in messages.")
    device: Literal["cpu", "cuda"] = setting("cpu", "Device to train on.")
    num_processes: int = setting(1, "Processes per node (> 0; = GPUs per node on GPU machines, vllm_gpus of them "
                                    "serving vLLM; the seed's --num-gpus).")
    num_nodes: int = setting(1, "Nodes (> 0).")
    vllm_gpus: int = setting(0, "GPUs of this node (of num_processes) kept for the vLLM server of "
                                "algorithm.generation.vllm_mode=server (one node only); the others train. 0: none.")
    zero_stage: Literal[0, 1, 2, 3] = setting(0, "0: plain DDP (or one process); 1, 2 or 3: DeepSpeed ZeRO stage "
                                                 "(1 shards optimizer states, 2 also gradients, 3 also weights).")
    offload: Literal["none", "optimizer", "optimizer_and_params"] = setting(
        "none", "Offload to CPU RAM with DeepSpeed's CPU AdamW (needs ZeRO; optimizer_and_params needs ZeRO-3).")
    mixed_precision: Literal["no", "bf16", "fp16"] = setting("no", "Mixed precision; training.bf16/fp16 "
                                                                   "override it.")
    zero3_live_parameters: Optional[int] = setting(
        None, "ZeRO-3 only: gathered parameters a rank may hold at once and keep for reuse (> 0); null: 1e9, the "
              "whole model through forward and backward (fastest). Lower saves memory for more all-gathers.")
    main_process_ip: Optional[str] = setting(None, "Several nodes: node 0's host name; null: MASTER_ADDR or the "
                                                   "first SLURM host.")
    main_process_port: Optional[int] = setting(None, "Rendezvous port (1..65535); null: MASTER_PORT or 29500 "
                                                     "(several nodes), a free port (one node).")
    machine_rank: Optional[int] = setting(None, "This node's rank (0..num_nodes-1); null: NODE_RANK or "
                                                "SLURM_NODEID, else 0.")
    deepspeed_config: Optional[str] = setting(
        None, "A DeepSpeed JSON of your own, used in place of the generated one (its \"auto\" batch, clipping and "
              "precision values filled from the run; path relative to the launch directory); its ZeRO stage must "
              "equal zero_stage. null: generated from this section.")
    cuda_alloc_conf: Optional[str] = setting(
        DEFAULT_ALLOC_CONF, "On CUDA: PYTORCH_CUDA_ALLOC_CONF of the training processes (that variable, "
        "when set, wins; beside a colocated vLLM, PyTorch's default is kept). Expandable segments let freed "
        "memory merge, so transformers' generate, whose KV cache is reallocated one token longer each step, leaves "
        "no GiBs cached that training cannot reuse (docs/scaling.md). null: PyTorch's default allocator.")
    check_memory: bool = setting(True, "On CUDA: refuse a run whose per-rank memory estimate (printed at launch) "
                                       "exceeds a GPU's memory, naming settings that would fit; false: start anyway.")
    dry_run: bool = setting(False, "Print the launch command(s) and the DeepSpeed config; train nothing.")


@dataclass
class EvaluationConfig:
    """Used by fai-rl-eval, and by the evaluations during training (task metrics, reward-hacking alarm)."""

    reference_model: Optional[str] = setting(None, "Preference data: the reference policy; null: the evaluated "
                                                   "model's recorded base model.")
    max_new_tokens: Optional[int] = setting(None, "Prompt data: length of the greedy generations; null: "
                                                  "algorithm.max_completion_length.")
    output: Optional[str] = setting(None, "Path of eval.json; null: <run_dir>/eval.json.")
    task_rows: Optional[int] = setting(64, "Prompt data with answers: eval prompts (the first N, > 0) scored for "
                                           "the task metrics at every evaluation during training; null: all.")
    pass_k: int = setting(4, "Prompt data with answers: completions sampled per prompt for eval_pass_at_<k> "
                             "(>= 0; 0: off).")
    alarm_metric: Optional[str] = setting("eval_exact_answer_accuracy", "Eval metric watched against the "
                                          "training reward for reward hacking; null: no alarm.")
    alarm_evals: int = setting(3, "Warn when, over this many consecutive evaluations during training (>= 2), the "
                                  "training reward rose while alarm_metric fell.")
    stop_on_alarm: bool = setting(False, "Stop training (saving the model) when the alarm fires.")


@dataclass
class AlgorithmConfig:
    """Fields every algorithm has; each algorithm module subclasses it with its hyperparameters."""

    name: str = setting(MISSING, "Display name (e.g. gspo); set by the conf/algorithm option.")
    trainer: str = setting(MISSING, "The algorithm module in fai_rl/algorithms/ that trains it (e.g. grpo for "
                                    "gspo).")


@dataclass
class RunConfig:
    model: ModelConfig = section(ModelConfig, "The model to train (conf/model/).")
    data: DataConfig = section(DataConfig, "Training and eval data (conf/data/).")
    training: TrainingConfig = section(TrainingConfig, "Optimisation, checkpoints and logging (TrainingArguments).")
    algorithm: AlgorithmConfig = section(AlgorithmConfig, "The algorithm and its hyperparameters "
                                                          "(conf/algorithm/).")
    hardware: HardwareConfig = section(HardwareConfig, "Processes, nodes, DeepSpeed ZeRO and precision "
                                                       "(conf/hardware/).")
    wandb: WandbConfig = section(WandbConfig, "Weights & Biases reporting.")
    tracking: TrackingConfig = section(TrackingConfig, "TensorBoard and MLflow.")
    upload: UploadConfig = section(UploadConfig, "Checkpoints and the final model copied to object storage.")
    evaluation: EvaluationConfig = section(EvaluationConfig, "fai-rl-eval, and the task metrics and "
                                                             "reward-hacking alarm of the evaluations during "
                                                             "training.")
    run_dir: Optional[str] = setting(None, "Where the run's config, metrics and summary are written; null: none.")

    @property
    def resuming(self) -> bool:
        return self.training.resume not in (False, "false")

    @property
    def use_bf16(self) -> bool:
        if self.training.bf16 is not None:
            return self.training.bf16
        return self.hardware.mixed_precision == "bf16"

    @property
    def use_fp16(self) -> bool:
        if self.training.fp16 is not None:
            return self.training.fp16
        return self.hardware.mixed_precision == "fp16"

    @property
    def watchdog_seconds(self) -> float:
        """training.watchdog_s, or its default for the device: generous on a GPU, off on CPU (0)."""
        if self.training.watchdog_s is not None:
            return self.training.watchdog_s
        return GPU_WATCHDOG_S if self.hardware.device == "cuda" else 0.0

    @property
    def evaluates(self) -> bool:
        """Whether the run has eval data: data.eval_datasets, or a share of the training rows held out."""
        return bool(self.data.eval_datasets) or self.training.eval_split_ratio > 0

    @property
    def world_size(self) -> int:
        """Training processes: GPUs kept for a vLLM server (hardware.vllm_gpus) do not train."""
        return (self.hardware.num_processes - self.hardware.vllm_gpus) * self.hardware.num_nodes

    @property
    def effective_batch_size(self) -> int:
        """Training examples per optimizer step: per-device batch x accumulation x processes."""
        t = self.training
        return t.per_device_train_batch_size * t.gradient_accumulation_steps * self.world_size
