"""The processes of a run as Accelerate and DeepSpeed see them: the process group a CPU DeepSpeed run needs, ZeRO-3
loading each rank's shard, the check that every launched process trains, and how much of the model a rank holds."""
from __future__ import annotations

from contextlib import contextmanager

from accelerate import PartialState
from transformers import TrainingArguments

from fai_rl.config.schema import RunConfig
from fai_rl.training.arguments import common_args


def start_process_group(run: RunConfig) -> None:
    """In a launched worker, before any TrainingArguments: DeepSpeed on CPU needs Accelerate's state made with
    the gloo backend, else it reports one process and does not split the data."""
    if run.hardware.device == "cpu" and run.hardware.zero_stage > 0:
        PartialState(backend="gloo")


@contextmanager
def sharded_loading(run: RunConfig):
    """Under ZeRO-3, make from_pretrained partition the weights as it loads them (DeepSpeed's zero.Init).

    Transformers turns zero.Init on while a TrainingArguments with a ZeRO-3 config is alive, so one is built
    (and its process group started, gloo on CPU) before the model loads.
    """
    if run.hardware.zero_stage != 3:
        yield
        return
    args = TrainingArguments(**common_args(run))  # its __post_init__ also starts the process group
    yield
    del args


def check_processes(run: RunConfig, accelerator) -> str:
    """Fail unless Accelerate trains with as many processes as the hardware group launched; describe them."""
    state = accelerator.state
    if accelerator.num_processes != run.world_size:
        raise RuntimeError(f"hardware '{run.hardware.name}' launched {run.world_size} processes but Accelerate "
                           f"sees {accelerator.num_processes} ({state.distributed_type}): they would not share "
                           "gradients")
    return f"training on {accelerator.num_processes} process(es), {state.distributed_type}"


def held_parameters(model) -> str:
    """How much of the model this process holds (under ZeRO-3 its shard, ds_tensor; the full size is ds_numel)."""
    held = sum(p.ds_tensor.numel() if hasattr(p, "ds_tensor") else p.numel() for p in model.parameters())
    total = sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters())
    return f"this process holds {held} of the model's {total} parameter values"


def routes_tokens(model) -> bool:
    """A mixture-of-experts model leaves some experts unused in a step, which DDP must search for
    (find_unused_parameters, an extra autograd traversal every step); every other model uses all its parameters."""
    config = getattr(model, "config", None)
    config = getattr(config, "text_config", None) or config
    return any(getattr(config, key, None) for key in ("num_experts", "num_local_experts", "n_routed_experts"))
