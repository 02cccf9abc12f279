"""Checks the front process makes before anything trains: the output dir (never overwrite a finished model by
accident, room for a checkpoint and the final model) and, for a GPU run, the GPUs and their memory."""
from __future__ import annotations

import shutil
from pathlib import Path

from fai_rl.config.paths import holds_finished_model
from fai_rl.config.schema import RunConfig
from fai_rl.data.files import check_present, local_file
from fai_rl.errors import ConfigError
from fai_rl.launch.memory import GiB, billions, estimate, fitting_changes, gib
from fai_rl.models.shape import model_shape

GB = 1e9


def check_output_dir(output_dir: str, overwrite: bool) -> None:
    folder = Path(output_dir)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"training.output_dir '{output_dir}' exists and is not a folder")
    if holds_finished_model(folder) and not overwrite:
        raise ConfigError(
            f"training.output_dir '{output_dir}' already holds a finished model; choose another output_dir or "
            "run_name, or set training.overwrite_output_dir=true to replace it"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ConfigError(f"training.output_dir '{output_dir}' cannot be written: {err.strerror}")


def check_free_space(output_dir: str, needed, headroom_gb: float) -> None:
    """Refuse to start when the output_dir's filesystem lacks room for a checkpoint and the final model (`needed`
    bytes, None when the model's size is unknown) plus training.disk_headroom_gb."""
    free = shutil.disk_usage(output_dir).free
    want = (needed or 0) + headroom_gb * GB
    if free < want:
        size = f"a checkpoint and the final model need about {needed / GB:.3g} GB, plus " if needed else ""
        raise ConfigError(f"training.output_dir '{output_dir}' is on a filesystem with {free / GB:.2f} GB free; "
                          f"{size}training.disk_headroom_gb={headroom_gb:g} GB: free some space, choose another "
                          "output_dir, or lower training.disk_headroom_gb")


def check_data_files(run: RunConfig) -> None:
    """Every built-in dataset and split, and every local data file, exists and is not empty: said in a second,
    before the libraries load (their contents are checked as they load: UTF-8, JSON lines, columns)."""
    for spec in [*run.data.datasets, *run.data.eval_datasets]:
        path = local_file(spec)
        if path is not None:
            check_present(path)


def check_gpus(run: RunConfig) -> None:
    # heavy (torch.cuda): the one query of the GPUs, only for a GPU run, before it starts
    from fai_rl.training.devices import cuda_memory

    memory = cuda_memory()
    found = len(memory)
    if found < run.hardware.num_processes:
        raise ConfigError(
            f"hardware '{run.hardware.name}' asks for {run.hardware.num_processes} GPU(s) per node "
            f"(hardware.num_processes) but this machine has {found} CUDA GPU(s); use hardware=cpu, or "
            f"hardware.num_processes<={found}" if found else
            f"hardware '{run.hardware.name}' needs CUDA GPUs but this machine has none; use hardware=cpu"
        )
    check_memory(run, min(memory[:run.hardware.num_processes]))


def check_memory(run: RunConfig, capacity: int) -> None:
    """Refuse a run whose per-rank estimate exceeds a GPU's `capacity` bytes, naming settings that would fit."""
    est = estimate(run) if run.hardware.check_memory else None
    room = capacity * (1 - est.vllm_share) if est else capacity  # a colocated vLLM keeps its share
    if est is None or est.total <= room:
        return
    fits = fitting_changes(run, room)
    hint = f"these would fit: {'; '.join(fits)}" if fits else \
        "none of ZeRO-3, gradient checkpointing, a halved batch, optimizer offload or LoRA alone would fit"
    vllm = f" ({est.vllm_share:.0%} of it is the colocated vLLM's)" if est.vllm_share else ""
    raise ConfigError(f"the estimated {gib(est.total)} GiB per rank exceeds the {room / GiB:.1f} GiB a GPU of "
                      f"{capacity / GiB:.1f} GiB leaves for training{vllm} ({est.line('cuda')}); {hint}; or set "
                      "hardware.check_memory=false to start anyway")


# (parameters at least, the highest learning rate full fine-tuning of such a model usually survives)
LEARNING_RATE_BOUNDS = ((1e9, 5e-5), (1e8, 1e-4))
LORA_FACTOR = 10  # adapters train at rates about ten times higher


def learning_rate_warning(run: RunConfig):
    """One line when training.learning_rate is above a sane bound for the model's size (None when it is not, or
    the size is unknown here). It warns, never refuses: a user may know better."""
    shape = model_shape(run.model.base_model_name)
    bound = next((b for size, b in LEARNING_RATE_BOUNDS if shape and shape.parameters >= size), None)
    if bound is None:
        return None
    bound *= LORA_FACTOR if run.model.lora.enabled else 1
    rate = run.training.learning_rate
    if rate <= bound:
        return None
    how = "LoRA" if run.model.lora.enabled else "full fine-tuning"
    return (f"warning: training.learning_rate={rate:g} is above {bound:g}, a sane bound for {how} of a "
            f"{billions(shape.parameters)}-parameter model (DPO/GRPO on instruct models: 1e-7..1e-5); the tiny "
            "demo's rates are for builtin:tiny only")
