"""training.kernels: Liger's layer kernels where they fit, planned before torch loads; refused where they cannot."""
from __future__ import annotations

import json

import pytest
from conftest import make_run, run_cli

from fai_rl.errors import ConfigError
from fai_rl.models.kernel_plan import LIGER_KERNELS, LIGER_MODEL_TYPES, kernel_plan


def test_the_dry_run_names_the_kernels_a_gpu_run_trains_with(tmp_path):
    proc = run_cli("training.kernels=liger", "hardware=gpu", "hardware.dry_run=true", f"hydra.run.dir={tmp_path}/run",
                   f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    planned = [line for line in proc.stdout.splitlines() if "kernels: Liger rms_norm, swiglu, rope" in line]
    assert len(planned) == 2 and "model type llama" in planned[0], proc.stdout  # at launch and in the dry run


def test_liger_off_cuda_is_one_line_naming_the_setting(tmp_path):
    proc = run_cli("hardware=cpu", "training.kernels=liger", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "training.kernels=liger needs CUDA" in proc.stderr
    assert "auto or none" in proc.stderr and not proc.stdout.strip()


def test_auto_on_cpu_trains_without_kernels_and_says_why(tmp_path):
    plan = kernel_plan(make_run(["training.kernels=auto"], tmp_path))
    assert plan.kernels == () and "need CUDA" in plan.line() and "hardware.device is cpu" in plan.line()
    assert kernel_plan(make_run(["training.kernels=none", "hardware=gpu"], tmp_path)).line() == \
        "kernels: none (training.kernels=none)"


def _model_of_type(folder, model_type):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": model_type, "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4}))
    return folder


def test_a_model_type_without_liger_kernels(tmp_path):
    model = _model_of_type(tmp_path / "gpt2-like", "gpt2")
    settings = ["hardware=gpu", "hardware.dry_run=true", f"model.base_model_name={model}"]
    with pytest.raises(ConfigError, match="no kernels for model type 'gpt2'.*training.kernels=auto or none"):
        kernel_plan(make_run(settings + ["training.kernels=liger"], tmp_path))
    plan = kernel_plan(make_run(settings + ["training.kernels=auto"], tmp_path))
    assert plan.kernels == () and "model type 'gpt2'" in plan.reason


def test_the_shipped_models_get_the_layer_kernels(tmp_path):
    for model in ("qwen2_5_0_5b", "llama3_2_3b"):
        plan = kernel_plan(make_run([f"model={model}", "hardware=gpu", "hardware.dry_run=true"], tmp_path))
        assert plan.kernels == LIGER_KERNELS, model


@pytest.mark.gpu
def test_pinned_model_types_match_the_installed_liger_kernel():
    from liger_kernel.transformers.monkey_patch import MODEL_TYPE_TO_APPLY_LIGER_FN

    assert set(MODEL_TYPE_TO_APPLY_LIGER_FN) == LIGER_MODEL_TYPES


@pytest.mark.gpu
def test_kernels_really_patch_the_model_on_cuda(tmp_path):
    from liger_kernel.transformers.rms_norm import LigerRMSNorm

    from fai_rl.models.kernels import apply_kernels
    from fai_rl.models.loading import load_model, resolve_model_path

    run = make_run(["hardware=gpu", "training.kernels=liger"], tmp_path)
    model = load_model(run.model, run.hardware, resolve_model_path(run.model.base_model_name))
    line = apply_kernels(model, kernel_plan(run))
    assert "applied to the llama model" in line
    assert isinstance(model.model.norm, LigerRMSNorm) and isinstance(model.model.layers[0].input_layernorm,
                                                                      LigerRMSNorm)


@pytest.mark.gpu
def test_a_bf16_job_with_kernels_learns_on_cuda(tmp_path):
    proc = run_cli("hardware=gpu", "model.torch_dtype=bfloat16", "training.kernels=liger", "training.max_steps=120",
                   f"hydra.run.dir={tmp_path}/run", f"training.output_dir={tmp_path}/model", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "kernels: Liger rms_norm, swiglu, rope applied to the llama model" in proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    before, after = summary["eval_before"], summary["eval_after"]
    assert after["eval_rewards/accuracies"] > before["eval_rewards/accuracies"] + 0.2, (before, after)
