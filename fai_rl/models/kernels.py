"""Apply the fused kernels training.kernels chose (fai_rl/models/kernel_plan.py) to a loaded model, before LoRA wraps
it: liger-kernel's own instance API, its layer kernels only (RMSNorm, SwiGLU, RoPE)."""
from __future__ import annotations

from fai_rl.errors import ConfigError
from fai_rl.models.kernel_plan import LIGER_KERNELS, KernelPlan


def apply_kernels(model, plan: KernelPlan) -> str:
    """Patch `model` as `plan` says; the line to log (what trains with which kernels, or why none)."""
    if not plan.kernels:
        return plan.line()
    from liger_kernel.transformers import _apply_liger_kernel_to_instance
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    model_type = getattr(model.config, "model_type", "")
    if model_type not in MODEL_TYPE_TO_APPLY_LIGER_FN:
        if plan.required:
            raise ConfigError(f"training.kernels=liger: liger-kernel has no kernels for model type '{model_type}'; "
                              "use training.kernels=auto or none")
        return f"kernels: none (liger-kernel has no kernels for model type '{model_type}')"
    _apply_liger_kernel_to_instance(model, **{name: True for name in LIGER_KERNELS}, cross_entropy=False,
                                    fused_linear_cross_entropy=False)
    return f"kernels: Liger {', '.join(LIGER_KERNELS)} applied to the {model_type} model"
