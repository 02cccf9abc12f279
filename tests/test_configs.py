"""Every config file under conf/ composes with the rest and validates."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, compose, make_run
from omegaconf import OmegaConf

from fai_rl.cli.compose import schema_defaults
from fai_rl.cli.search_path import shipped

group_options = shipped().group_options

CASES = [(group, option) for group in ("model", "data", "algorithm", "hardware", "experiment")
         for option in group_options(group)]


@pytest.mark.parametrize("group,option", CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_every_config_composes_and_validates(group, option, tmp_path):
    overrides = [f"{group}={option}"]
    if group == "model" and option != "tiny":
        overrides.append("hardware=gpu")
    if (group, option) == ("hardware", "gpu8_vllm_server"):  # its reserved GPU serves vLLM, which needs GRPO/GSPO
        overrides += ["experiment=grpo_qwen2_5_1_5b_gsm8k_vllm_server"]
    run = make_run(overrides, tmp_path)
    if group in ("model", "data", "algorithm", "hardware"):
        assert getattr(run, group) is not None
    assert run.training.learning_rate > 0


def test_groups_found_on_disk():
    assert (REPO / "conf" / "train.yaml").exists()
    assert {"tiny", "qwen2_5_0_5b"} <= set(group_options("model"))
    assert "dpo" in group_options("algorithm")


def test_seed_fields_present(tmp_path):
    run = make_run([], tmp_path)
    for name in ("base_model_name", "torch_dtype", "low_cpu_mem_usage", "load_in_8bit", "load_in_4bit",
                 "use_flash_attention", "trust_remote_code"):
        assert hasattr(run.model, name)
    assert run.model.trust_remote_code is False
    for name in ("max_length", "max_prompt_length", "remove_unused_columns"):
        assert hasattr(run.data, name)
    for name in ("prompt_column", "chosen_column", "rejected_column", "subset", "split"):
        assert hasattr(run.data.datasets[0], name)
    for name in ("output_dir", "run_name", "per_device_train_batch_size", "gradient_accumulation_steps",
                 "learning_rate", "num_train_epochs", "warmup_steps", "logging_steps", "save_steps", "bf16",
                 "fp16", "gradient_checkpointing", "dataloader_num_workers", "dataloader_pin_memory",
                 "dataloader_drop_last", "save_only_model", "prediction_loss_only", "seed", "max_steps",
                 "eval_steps"):
        assert hasattr(run.training, name), name
    for name in ("enabled", "project", "entity", "name", "tags"):
        assert hasattr(run.wandb, name)


def test_string_scientific_numbers_are_numbers(tmp_path):
    run = make_run(["training.learning_rate='3e-4'"], tmp_path)
    assert run.training.learning_rate == pytest.approx(3e-4)


def test_train_yaml_holds_only_what_the_default_job_changes():
    """Every key starts at the schema's default (the schema_defaults node); train.yaml sets only other values."""
    train = OmegaConf.to_container(OmegaConf.load(REPO / "conf" / "train.yaml"), resolve=False)
    assert train["defaults"][0].startswith("schema_defaults")
    defaults = schema_defaults()
    for section, values in train.items():
        if section in ("defaults", "hydra"):
            continue
        for key, value in (values.items() if isinstance(values, dict) else [(None, values)]):
            default = defaults[section][key] if key else defaults[section]
            assert value != default, f"conf/train.yaml sets {section}.{key} to the schema's default {default!r}"


def test_every_schema_key_is_composed_and_overridable_without_plus(tmp_path):
    cfg = compose([], tmp_path)
    for section, values in schema_defaults().items():
        if isinstance(values, dict):
            assert set(values) <= set(cfg[section]), f"{section}: keys missing from the composed config"
    run = make_run(["data.system_prompt=Be brief.", "evaluation.output=/tmp/eval.json"], tmp_path)
    assert run.data.system_prompt == "Be brief." and run.evaluation.output == "/tmp/eval.json"


@pytest.mark.parametrize("option", group_options("algorithm"))
def test_every_algorithm_field_can_be_overridden(option):
    """Each field of the algorithm's Settings is in the composed config, so `algorithm.<field>=...` needs no `+`."""
    import dataclasses

    from fai_rl import algorithms
    from fai_rl.cli.compose import compose

    composed = compose([f"algorithm={option}"]).algorithm
    fields = {f.name for f in dataclasses.fields(algorithms.load(composed.trainer).Settings)}
    assert fields <= set(composed.keys()), f"conf/algorithm/{option}.yaml lacks {sorted(fields - set(composed))}"


def test_a_source_checkout_reads_its_own_conf(tmp_path):
    """`python -m fai_rl` from a copy of the source tree (PYTHONPATH, no install of that copy) composes the copy's
    conf/, not an installed one: the GPU check runs fai-rl this way from a copied tree."""
    copy = tmp_path / "checkout"
    shutil.copytree(REPO / "fai_rl", copy / "fai_rl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "conf", copy / "conf", ignore=shutil.ignore_patterns("__pycache__"))
    demo = copy / "conf" / "demo" / "tiny.yaml"
    demo.write_text(demo.read_text().replace("max_steps: 400", "max_steps: 123"))
    proc = subprocess.run([sys.executable, "-m", "fai_rl", "--cfg", "job"], cwd=copy, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(copy)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert yaml.safe_load(proc.stdout)["training"]["max_steps"] == 123
