"""Typed schema of a run: one dataclass per config section (names follow the seed recipe format).

This module must stay free of torch/transformers/trl imports: it is read on every CLI start.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Literal, Optional, Union

MISSING = "???"


@dataclass
class LoraConfig:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: List[str] = field(default_factory=lambda: ["all-linear"])  # or names, e.g. [q_proj, v_proj]
    merge_on_save: bool = False  # also write a merged full model to <output_dir>/merged


@dataclass
class ModelConfig:
    base_model_name: str = "builtin:tiny"  # hub name, local folder, or builtin:tiny
    torch_dtype: Literal["float32", "bfloat16", "float16", "auto"] = "float32"
    low_cpu_mem_usage: bool = True
    load_in_8bit: bool = False
    load_in_4bit: bool = False
    use_flash_attention: bool = False  # flash_attention_2 instead of SDPA
    trust_remote_code: bool = False
    lora: LoraConfig = field(default_factory=LoraConfig)


@dataclass
class DatasetSpec:
    name: str = MISSING  # hub name, local .json/.jsonl/.csv/.parquet file, or builtin:<name>
    subset: Optional[str] = None
    split: str = "train"
    prompt_column: str = "prompt"
    chosen_column: str = "chosen"
    rejected_column: str = "rejected"
    answer_column: Optional[str] = None  # prompt data: reference answer column, passed to rewards as `answer`
    max_samples: Optional[int] = None  # keep only the first N rows of this dataset


@dataclass
class DataConfig:
    datasets: List[DatasetSpec] = field(default_factory=list)
    eval_datasets: List[DatasetSpec] = field(default_factory=list)
    max_length: int = 2048
    max_prompt_length: int = 1024
    remove_unused_columns: bool = False
    system_prompt: Optional[str] = None  # prompt data: prepended as a system message (prompts become chat)
    prompt_template: Optional[str] = None  # prompt data: e.g. "{prompt}\nAnswer after ####."; {column} fields


@dataclass
class TrainingConfig:
    output_dir: str = "models/output"
    run_name: str = "fai-rl"
    overwrite_output_dir: bool = False
    resume: Union[bool, str] = False  # auto: newest complete checkpoint in output_dir; or a checkpoint path
    per_device_train_batch_size: int = 1
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    learning_rate: float = 1.0e-6
    num_train_epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides num_train_epochs
    warmup_steps: int = 0
    lr_scheduler_type: str = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch_fused"
    seed: int = 42
    logging_steps: int = 5
    save_steps: int = 100
    save_total_limit: Optional[int] = None
    eval_steps: Optional[int] = None  # evaluate every N steps (None: only before and after training)
    bf16: Optional[bool] = None  # None: follow hardware.mixed_precision
    fp16: Optional[bool] = None
    gradient_checkpointing: bool = False
    dataloader_num_workers: int = 0
    dataloader_pin_memory: bool = False
    dataloader_drop_last: bool = True
    save_only_model: bool = True
    prediction_loss_only: bool = True
    objective_metric: Optional[str] = None  # metric a sweep optimises (summary key); None: the algorithm's OBJECTIVE
    progress_bar: bool = True  # false: no tqdm bars (quiet logs for CI and batch jobs)


@dataclass
class WandbConfig:
    enabled: bool = False
    project: str = "fai-rl"
    entity: Optional[str] = None
    name: Optional[str] = None  # defaults to training.run_name
    tags: List[str] = field(default_factory=list)


@dataclass
class HardwareConfig:
    name: str = "cpu"
    device: Literal["cpu", "cuda"] = "cpu"
    num_processes: int = 1  # processes per node (= GPUs per node on GPU machines)
    num_nodes: int = 1
    zero_stage: Literal[0, 2, 3] = 0
    offload: Literal["none", "optimizer", "optimizer_and_params"] = "none"
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    # ZeRO-3: how many full (gathered) parameters a rank may hold at once and keep for reuse; null = 1e9 (keep the
    # whole model gathered through forward and backward: fastest). Lower saves memory for more all-gathers.
    zero3_live_parameters: Optional[int] = None
    # rendezvous of several nodes; null = from the scheduler's environment (MASTER_ADDR/MASTER_PORT/NODE_RANK,
    # SLURM_JOB_NODELIST/SLURM_NODEID), else 29500 for the port and 0 for the rank
    main_process_ip: Optional[str] = None
    main_process_port: Optional[int] = None
    machine_rank: Optional[int] = None
    dry_run: bool = False  # print the launch command(s) and the DeepSpeed config, train nothing


@dataclass
class EvaluationConfig:
    """Used by fai-rl-eval (and the saved-model evaluation after training)."""

    reference_model: Optional[str] = None  # preference eval reference (default: the evaluated model's base)
    max_new_tokens: Optional[int] = None  # prompt eval: greedy generation length (default algorithm's)
    output: Optional[str] = None  # eval.json path (default: <run_dir>/eval.json)


@dataclass
class AlgorithmConfig:
    """Fields every algorithm has; each algorithm module subclasses it with its hyperparameters."""

    name: str = MISSING  # display name (e.g. gspo)
    trainer: str = MISSING  # registry key of the algorithm module that trains it (e.g. grpo)


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    hardware: HardwareConfig = field(default_factory=HardwareConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    run_dir: Optional[str] = None  # where the run's config, metrics and summary are written

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
    def world_size(self) -> int:
        return self.hardware.num_processes * self.hardware.num_nodes

    @property
    def effective_batch_size(self) -> int:
        """Training examples per optimizer step: per-device batch x accumulation x processes."""
        t = self.training
        return t.per_device_train_batch_size * t.gradient_accumulation_steps * self.world_size
