"""Will it fit? Per-rank memory of a composed run, estimated from the model's shape before anything loads.

The formula is written out in docs/scaling.md ("Will it fit?"); the bench's memory section measures it against
peak RSS per rank on CPU. Light by rule: no torch here (the front process prints the estimate before loading it).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional

from fai_rl import algorithms
from fai_rl.algorithms import MemoryProfile
from fai_rl.config.derived import precision
from fai_rl.config.hardware import ALLOC_CONF, DEFAULT_ALLOC_CONF, expandable
from fai_rl.config.schema import RunConfig
from fai_rl.models.shape import DTYPE_BYTES, Shape, model_shape

GiB = 2 ** 30
CPU_RUNTIME = int(0.55 * GiB)  # one process with Python, torch, transformers, TRL imported (bench: tiny-model runs)
CUDA_RUNTIME = 1 * GiB         # per GPU: CUDA context, kernels, caching-allocator slack
ZERO3_LIVE_DEFAULT = int(1e9)  # DeepSpeed's stage3_max_live_parameters when hardware.zero3_live_parameters is null
MiB = 2 ** 20
OWN_SEGMENT = 10 * MiB  # PyTorch's caching allocator: a request this large gets a segment of its own,
SEGMENT_ROUND = 2 * MiB  # rounded up to this


@dataclass
class Estimate:
    """Bytes per rank: `device` parts on the training device (CPU RAM on CPU), `host` parts offloaded to CPU RAM."""

    shape: Shape
    trainable: int
    device: dict = field(default_factory=dict)
    host: dict = field(default_factory=dict)
    vllm_share: float = 0.0  # of each training GPU's memory, taken by a colocated vLLM while the model trains
    cached: int = 0  # reserved by the CUDA caching allocator beyond the tensors, released when memory runs short

    @property
    def total(self) -> int:
        return sum(self.device.values())

    def line(self, where: str) -> str:
        parts = ", ".join(f"{name} {gib(b)}" for name, b in self.device.items() if b >= GiB / 200)
        host = f"; + {gib(sum(self.host.values()))} GiB offloaded to CPU RAM" if any(self.host.values()) else ""
        if self.vllm_share:
            host += f"; + the colocated vLLM's {self.vllm_share:.0%} of each GPU's memory"
        cached = (f"; nvidia-smi may show up to {gib(self.cached)} GiB more: PyTorch's default allocator keeps it "
                  f"cached after transformers' generate, released when memory runs short "
                  f"({ALLOC_CONF}={DEFAULT_ALLOC_CONF} avoids it)") if self.cached >= GiB / 200 else ""
        return (f"memory per rank ≈ {gib(self.total)} GiB on {where} ({parts} GiB){host}; for "
                f"{billions(self.shape.parameters)} parameters ({billions(self.trainable)} trained) from "
                f"{self.shape.source}{cached}")


def gib(n: float) -> str:
    return f"{n / GiB:.2f}" if n < 10 * GiB else f"{n / GiB:.1f}"


def billions(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def unavailable_line(run: RunConfig) -> str:
    return (f"memory per rank: estimate unavailable: model.base_model_name '{run.model.base_model_name}' is not a "
            "local model folder, not in the local Hugging Face cache and not one of fai-rl's recipe models "
            "(fai_rl/models/model_shapes.json), so its config.json cannot be read without downloading it")


def memory_line(run: RunConfig) -> str:
    est = estimate(run)
    return est.line(run.hardware.device) if est else unavailable_line(run)


def estimate(run: RunConfig):
    """The per-rank Estimate of `run`, or None when the model's shape cannot be known here."""
    shape = model_shape(run.model.base_model_name)
    return None if shape is None else estimate_for(run, shape)


def estimate_for(run: RunConfig, shape: Shape) -> Estimate:
    m, h, n, stage = run.model, run.hardware, run.world_size, run.hardware.zero_stage
    mixed = precision(run) != "no"
    w = 2 if stage and mixed else DTYPE_BYTES.get(m.torch_dtype, shape.dtype_bytes)  # DeepSpeed casts to bf16/fp16
    quantized = m.load_in_4bit or m.load_in_8bit
    linears = shape.layers * shape.layer_linear_parameters
    frozen_weights = (shape.parameters - linears) * w + linears * (0.5 if m.load_in_4bit else 1 if quantized else w)
    if m.lora.enabled:  # peft keeps the adapters in fp32 and the base frozen
        trainable, tw = shape.lora_parameters(m.lora.r, m.lora.target_modules), 4
    else:
        trainable, tw = full_trainable(shape, m), w
    weights = frozen_weights + (trainable * tw if m.lora.enabled else 0)
    est = Estimate(shape, trainable)
    if stage == 0:
        est.device.update(weights=weights, gradients=trainable * tw * (2 if n > 1 else 1),  # DDP: + reduce buckets
                          optimizer=2 * trainable * tw)  # Adam's two moments, in the parameters' dtype
    else:
        sharded_weights = weights / n if stage == 3 else weights
        live = min(h.zero3_live_parameters or ZERO3_LIVE_DEFAULT, shape.parameters) * w if stage == 3 else 0
        state = {"optimizer": 12 * trainable / n}  # fp32 master copy + Adam's two moments, sharded from stage 1
        est.device.update(weights=0 if h.offload == "optimizer_and_params" else sharded_weights,
                          gathered=live, gradients=trainable * tw / (n if stage >= 2 else 1))
        offloaded = est.host if h.device == "cuda" else est.device  # on CPU, offloading stays in the same RAM
        (offloaded if h.offload != "none" else est.device).update(state)
        if h.offload == "optimizer_and_params":
            offloaded["weights"] = sharded_weights
    profile = algorithms.load(run.algorithm.trainer).memory_profile(run)
    reference = profile.reference_model and not m.lora.enabled  # LoRA: the base model is the reference
    est.device["reference"] = frozen_weights / (n if stage == 3 else 1) if reference else 0
    est.device["reward models"] = reward_model_weights(run)
    a = 2 if mixed or w == 2 or quantized else 4  # bytes per activation
    est.device["activations"] = activations(run, profile, shape, a)
    est.device["runtime"] = CUDA_RUNTIME if h.device == "cuda" else CPU_RUNTIME
    est.vllm_share = profile.vllm_share
    if h.device == "cuda" and profile.generated_tokens and not expandable(allocator_conf(run)):
        prompt = profile.tokens_per_row - profile.generated_tokens
        est.cached = generation_trail(profile.generated_rows, prompt, profile.generated_tokens, shape.layers,
                                      shape.kv_dim, a)
    return est


def allocator_conf(run: RunConfig, env: Mapping[str, str] = os.environ) -> Optional[str]:
    """The PYTORCH_CUDA_ALLOC_CONF the training processes run with: the variable where it is set (the user's), else
    hardware.cuda_alloc_conf on CUDA unless the algorithm keeps PyTorch's default allocator; None: the default."""
    if ALLOC_CONF in env:
        return env[ALLOC_CONF]
    if run.hardware.device != "cuda" or algorithms.load(run.algorithm.trainer).memory_profile(run).default_allocator:
        return None
    return run.hardware.cuda_alloc_conf


def allocator_env(run: RunConfig, env: Mapping[str, str] = os.environ) -> dict:
    """The variable to add to the training processes' environment (none when it is set already or not wanted)."""
    conf = allocator_conf(run, env)
    return {ALLOC_CONF: conf} if conf is not None and ALLOC_CONF not in env else {}


def generation_trail(rows: int, prompt: int, generated: int, layers: int, kv_dim: int, a: int) -> int:
    """Bytes PyTorch's default CUDA caching allocator keeps reserved after transformers' generate. Its DynamicCache
    concatenates at every token, so each of the 2 x layers key and value tensors is reallocated one token longer. A
    request of >= 10 MiB gets a segment of its own (rounded up to 2 MiB) that no later, longer request fits: each
    2 MiB step leaves one segment per tensor behind. Shorter requests share 20 MiB blocks, about their last size.
    A replay of the allocator's rules on this access pattern gave within 12% of this where the trail is tens of GiB,
    and up to a third less where later requests reuse those 20 MiB blocks: an upper bound."""
    per_token, segments, shared = rows * kv_dim * a, set(), 0
    for length in range(prompt + 1, prompt + generated + 1):
        size = per_token * length
        if size >= OWN_SEGMENT:
            segments.add(-(-size // SEGMENT_ROUND) * SEGMENT_ROUND)
        else:
            shared = size
    return 2 * layers * (sum(segments) + shared)


def full_trainable(shape: Shape, m) -> int:
    """Parameters a full fine-tune trains: all, less a vision tower held fixed by model.freeze_vision_tower."""
    return shape.parameters - (shape.vision if m.freeze_vision_tower else 0)


def reward_model_weights(run: RunConfig) -> int:
    """Bytes of the learned reward models in algorithm.rewards (reward_model:...), each held whole on every rank;
    one whose shape cannot be known here (an uncached hub id) counts 0."""
    from fai_rl.rewards import reward_entries  # light: checks paths, imports no torch

    total = 0
    for location in reward_entries(getattr(run.algorithm, "rewards", None) or []):
        shape = model_shape(location)
        total += shape.parameters * shape.dtype_bytes if shape else 0
    return total


def activations(run: RunConfig, profile: MemoryProfile, shape: Shape, a: int) -> int:
    """Saved for backward at one micro-batch of full-length rows (an upper bound: batches pad to their longest);
    an algorithm that generates: or the KV cache of one generation round, whichever is larger."""
    tokens = run.training.per_device_train_batch_size * profile.tokens_per_row
    per_layer = layer_bytes(shape, a)
    checkpointed = run.training.gradient_checkpointing  # keeps each layer's input, recomputes one layer at a time
    layers = shape.layers * shape.hidden * a + per_layer if checkpointed else shape.layers * per_layer
    saved = tokens * layers + tokens * shape.vocab * (a + 4)  # + logits and their fp32 log-softmax
    if profile.generated_rows:
        generated = profile.generated_rows * profile.tokens_per_row
        return max(saved, generated * shape.layers * 2 * shape.kv_dim * a)
    return saved


def layer_bytes(shape: Shape, a: int) -> int:
    """Bytes one token leaves saved for backward in one decoder layer as transformers writes Llama-style layers, with
    SDPA or flash attention (no score matrix kept): each RMSNorm keeps its input upcast to fp32 and its output in
    the activation dtype; attention keeps the rotated queries and keys, the values, its output and o_proj's
    contiguous input; the SwiGLU MLP keeps gate, SiLU(gate), up and their product. (Measured against on a GPU: the
    DPO job of bench/gpu/check.py, tests/test_memory_fit.py.)"""
    q = shape.heads * shape.head_dim
    norms = 2 * (4 + a) * shape.hidden
    attention = a * (3 * q + 2 * shape.kv_dim)
    return norms + attention + 4 * a * shape.intermediate


def fitting_changes(run: RunConfig, capacity: int) -> list:
    """Overrides (one candidate change each, or ZeRO-3 with checkpointing) under which the estimate fits."""
    h, t = run.hardware, run.training
    candidates = []
    if run.world_size > 1 and h.zero_stage < 3:
        candidates.append({"hardware.zero_stage": 3})
    if not t.gradient_checkpointing:
        candidates.append({"training.gradient_checkpointing": True})
    if t.per_device_train_batch_size > 1:
        candidates.append({"training.per_device_train_batch_size": t.per_device_train_batch_size // 2,
                           "training.gradient_accumulation_steps": t.gradient_accumulation_steps * 2})
    if h.offload == "none":
        candidates.append({"hardware.zero_stage": max(h.zero_stage, 1 if run.world_size == 1 else 3),
                           "hardware.offload": "optimizer"})
    if not run.model.lora.enabled:
        candidates.append({"model.lora.enabled": True})
    if len(candidates) > 1 and run.world_size > 1 and h.zero_stage < 3 and not t.gradient_checkpointing:
        candidates.append({"hardware.zero_stage": 3, "training.gradient_checkpointing": True})
    shape = model_shape(run.model.base_model_name)
    fits = [c for c in candidates if estimate_for(changed(run, c), shape).total <= capacity]
    return [" ".join(f"{k}={str(v).lower()}" for k, v in c.items()) for c in fits]


def changed(run: RunConfig, overrides: dict) -> RunConfig:
    """A copy of `run` with dotted-key overrides applied (sections copied, never shared)."""
    copy = dataclasses.replace(run)
    for key, value in overrides.items():
        *path, name = key.split(".")
        parent = copy
        for part in path:
            child = dataclasses.replace(getattr(parent, part))
            setattr(parent, part, child)
            parent = child
        setattr(parent, name, value)
    return copy


def checkpoint_bytes(run: RunConfig):
    """Disk for one checkpoint plus the final model (weights in the saved dtype; with save_only_model=false also
    the optimizer state of every rank), or None when the model's shape is unknown."""
    shape = model_shape(run.model.base_model_name)
    if shape is None:
        return None
    m, mixed = run.model, precision(run) != "no"
    w = 2 if run.hardware.zero_stage and mixed else DTYPE_BYTES.get(m.torch_dtype, shape.dtype_bytes)
    saved = shape.lora_parameters(m.lora.r, m.lora.target_modules) * 4 if m.lora.enabled else shape.parameters * w
    trainable = saved / 4 if m.lora.enabled else full_trainable(shape, m)
    optimizer = 0 if run.training.save_only_model else trainable * (12 if run.hardware.zero_stage else 8)
    return int(2 * saved + optimizer)
