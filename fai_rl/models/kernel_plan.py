"""training.kernels: which fused GPU kernels a run trains with, decided before torch loads (light by rule).

Liger's layer kernels (RMSNorm, SwiGLU, RoPE) are Triton kernels for CUDA; fai-rl applies them to the loaded model
through liger-kernel's own API (fai_rl/models/kernels.py), never through TRL's deprecated `use_liger_kernel` or the
model hub. Liger's fused LM-head loss stays off, as in TRL 1.16's own use of Liger: DPO, SFT and GRPO compute
log-probs from the logits themselves.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from fai_rl.config.schema import RunConfig
from fai_rl.errors import ConfigError
from fai_rl.models.shape import model_shape

LIGER_KERNELS = ("rms_norm", "swiglu", "rope")
LIGER_PACKAGE = "liger_kernel"
INSTALL_HINT = "pip install 'fai-rl[gpu]' (liger-kernel)"
# the model types liger-kernel 0.8.5 (the `gpu` extra's pin) patches: its MODEL_TYPE_TO_APPLY_LIGER_FN keys; a `gpu`
# test checks this list against the installed package
LIGER_MODEL_TYPES = frozenset({
    "deepseek_v2", "deepseek_v3", "deepseek_v4", "exaone4", "falcon_h1", "gemma", "gemma2", "gemma3", "gemma3_text",
    "gemma4", "gemma4_text", "glm4", "glm4v", "glm4v_moe", "gpt_oss", "granite", "hunyuan_v1_dense",
    "hunyuan_v1_moe", "internvl", "llama", "llama4", "llama4_text", "llava", "ministral", "mistral", "mixtral",
    "mllama", "mllama_text_model", "muse_glimmer", "nemotron", "olmo2", "olmo3", "paligemma", "phi3", "pixtral",
    "qwen2", "qwen2_5_vl", "qwen2_5_vl_text", "qwen2_vl", "qwen2_vl_text", "qwen3", "qwen3_5", "qwen3_5_moe",
    "qwen3_5_moe_text", "qwen3_5_text", "qwen3_moe", "qwen3_next", "qwen3_vl", "qwen3_vl_moe", "qwen3_vl_moe_text",
    "qwen3_vl_text", "smollm3", "smolvlm"})


@dataclass(frozen=True)
class KernelPlan:
    """The kernels a run applies (empty: none) and why it leaves them out, or what it checks once the model loads."""

    kernels: tuple
    reason: str
    required: bool = False  # training.kernels=liger: a model type found unsupported at load time is an error

    def line(self) -> str:
        if not self.kernels:
            return f"kernels: none ({self.reason})"
        return f"kernels: Liger {', '.join(self.kernels)} ({self.reason})"


def liger_installed() -> bool:
    return importlib.util.find_spec(LIGER_PACKAGE) is not None


def kernel_plan(run: RunConfig) -> KernelPlan:
    """What training.kernels means for this run, or ConfigError when `liger` cannot apply."""
    choice = run.training.kernels
    if choice == "none":
        return KernelPlan((), "training.kernels=none")
    refused = choice == "liger"
    if run.hardware.device != "cuda":  # kernels=liger off CUDA is refused by validation (config/validate.py)
        return KernelPlan((), f"Liger's kernels need CUDA; hardware.device is {run.hardware.device}")
    note = ""
    if not liger_installed() and run.hardware.dry_run:  # planned here for other machines: they need the package
        note = f"; liger-kernel is not installed on this machine, the training machines need it: {INSTALL_HINT}"
    elif not liger_installed():
        if refused:
            raise ConfigError(f"training.kernels=liger: liger-kernel is not installed; {INSTALL_HINT}, or use "
                              "training.kernels=auto or none")
        return KernelPlan((), f"liger-kernel is not installed: {INSTALL_HINT}")
    shape = model_shape(run.model.base_model_name)
    if shape is not None and shape.model_type and shape.model_type not in LIGER_MODEL_TYPES:
        if refused:
            raise ConfigError(f"training.kernels=liger: liger-kernel has no kernels for model type "
                              f"'{shape.model_type}' ({run.model.base_model_name}); use training.kernels=auto or none")
        return KernelPlan((), f"liger-kernel has no kernels for model type '{shape.model_type}'")
    known = f"model type {shape.model_type}" if shape is not None and shape.model_type else \
        "model type checked when the model loads"
    return KernelPlan(LIGER_KERNELS, f"{known}; the fused LM-head loss stays off: TRL computes log-probs from the "
                                     f"logits{note}", required=refused)
