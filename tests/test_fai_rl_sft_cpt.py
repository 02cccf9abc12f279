"""FAI-RL's SFT data (prompt/response, a system_prompt template over the columns, split mode) and CPT, as FAI-RL
recipes write them: each recipe trains through `fai-rl-train --recipe`, and the data rows are what FAI-RL makes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, built_trainer, make_run, write_jsonl

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.errors import ConfigError

ROWS = [{"prompt": "What is 2+2?", "response": "4", "label": "math"},
        {"prompt": "Capital of France?", "response": "Paris", "label": "geo"},
        {"prompt": "Opposite of hot?", "response": "cold", "label": "words"},
        {"prompt": "Color of snow?", "response": "white", "label": "colors"}] * 4
SINGLE = 'User: {prompt}\nResponse: {response}\nVerdict: {{"label": "{label}"}}'  # doubled braces are literal
SPLIT = {"system_prompt": "Answer {{briefly}}.", "user_prompt": "Q: {prompt}",
         "assistant_prompt": "{response} ({label})"}
TEXTS = [{"text": "The capital of France is Paris. A cow says moo."}, {"text": "Snow is white. The sky is blue."},
         {"text": "   "}] * 6  # blank texts are left out


def recipe(algorithm: str, data_file, data: dict) -> dict:
    """A recipe in FAI-RL's shape (its local_file recipes), shrunk for the tiny model on CPU."""
    spec = {"name": str(data_file), "split": "train"}
    spec.update({"text_column": "text"} if algorithm == "cpt" else
                {"prompt_column": "prompt", "dataset_columns": ["prompt", "response", "label"]})
    return {"model": {"base_model_name": "builtin:tiny", "torch_dtype": "float32", "low_cpu_mem_usage": True},
            "data": {"datasets": [spec], "max_length": 64, "remove_unused_columns": False, **data},
            "training": {"algorithm": algorithm, "output_dir": "models/out", "per_device_train_batch_size": 4,
                         "gradient_accumulation_steps": 1, "learning_rate": 1.0e-3, "num_train_epochs": 1,
                         "max_steps": -1, "warmup_steps": 0, "logging_steps": 1, "save_steps": 100, "bf16": False,
                         "gradient_checkpointing": False, "dataloader_drop_last": True},
            "wandb": {"enabled": False}}


# FAI-RL's CPT recipes evaluate on a held-out share of the training rows and stop early (qwen3_4B_local_file.yaml)
CPT_EVAL = {"eval_steps": 1, "save_steps": 1, "per_device_train_batch_size": 1, "per_device_eval_batch_size": 1,
            "early_stopping": True, "early_stopping_patience": 5, "early_stopping_threshold": 0.0,
            "eval_split_ratio": 0.25}


def write_recipe(tmp_path, algorithm: str, rows: list, data: dict, training: dict | None = None) -> tuple:
    spec = recipe(algorithm, write_jsonl(tmp_path / "train.jsonl", rows), data)
    spec["training"].update(training or {})
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path, spec


def assert_maps_key_by_key(config: dict, spec: dict, algorithm: str) -> None:
    """Every recipe key is in the run's config under its fai-rl name, with its value."""
    assert config["algorithm"]["name"] == algorithm
    for key, value in spec["data"].items():
        if key != "datasets":
            assert config["data"][key] == value, key
    for key, value in spec["data"]["datasets"][0].items():
        assert config["data"]["datasets"][0][key] == value, key
    assert config["data"]["max_prompt_length"] == 32  # FAI-RL's 256 does not fit max_length 64: half of it
    for key, value in spec["training"].items():
        if key != "algorithm":
            assert config["training"][key] == (3 if key == "max_steps" else value), key
    assert config["model"]["base_model_name"] == "builtin:tiny" and config["data"]["eval_datasets"] == []


def test_sft_single_template_recipe_trains_through_fai_rl_train(tmp_path):
    path, spec = write_recipe(tmp_path, "sft", ROWS, {"system_prompt": SINGLE})
    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.seed", "--recipe", path.name, "--num-gpus", "1",
                           "--hardware", "cpu", "training.max_steps=3", "training.progress_bar=false",
                           f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["algorithm"] == "sft" and summary["steps"] == 3 and summary["status"] == "completed"
    assert_maps_key_by_key(yaml.safe_load((tmp_path / "run" / "config.yaml").read_text()), spec, "sft")


@pytest.mark.parametrize("algorithm,rows,data,training", [("sft", ROWS, SPLIT, {}), ("cpt", TEXTS, {}, CPT_EVAL)],
                         ids=["sft-split", "cpt"])
def test_fai_rl_recipe_maps_and_trains(algorithm, rows, data, training, tmp_path, monkeypatch):
    """The translation fai-rl-train makes (as in the test above), trained in this process to save a start-up."""
    from fai_rl.cli import seed_recipe
    from fai_rl.cli.search_path import shipped
    from fai_rl.config.validate import to_dict
    from fai_rl.training.pipeline import train

    monkeypatch.chdir(tmp_path)
    path, spec = write_recipe(tmp_path, algorithm, rows, data, training)
    recipe_file = seed_recipe.apply_overrides(seed_recipe.load(str(path)), ["training.max_steps=3"])
    overrides = seed_recipe.to_overrides(recipe_file, shipped()) + seed_recipe.hardware_overrides(1, "cpu", shipped())
    run = make_run([*overrides, "training.progress_bar=false", f"run_dir={tmp_path / 'run'}"])  # the recipe's output
    assert_maps_key_by_key(to_dict(run), spec, algorithm)
    summary = train(run)
    assert summary["algorithm"] == algorithm and summary["steps"] == 3 and summary["status"] == "completed"
    if training:  # evaluated on the held-out rows at every step; early stopping kept the best checkpoint
        assert run.training.load_best_model_at_end and "eval_loss" in summary["eval_after"]
        assert summary["best_step"] in (1, 2, 3) and summary["best_value"] is not None


def test_single_template_is_the_whole_training_text(tmp_path):
    from fai_rl.data.sft import load_sft_data

    spec = DatasetSpec(name=str(write_jsonl(tmp_path / "d.jsonl", ROWS[:2])), dataset_columns=["prompt", "response",
                                                                                             "label"])
    ds = load_sft_data([spec], DataConfig(system_prompt=SINGLE))
    assert ds.column_names == ["text"]
    assert ds[0]["text"] == 'User: What is 2+2?\nResponse: 4\nVerdict: {"label": "math"}'


def test_split_mode_learns_the_assistant_turn_only(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", ROWS)
    trainer = built_trainer(["algorithm=sft", "algorithm.packing=false", f"data.datasets=[{{name: {data}}}]", "data.eval_datasets=[]",
                             *[f"data.{k}='{v}'" for k, v in SPLIT.items()]], tmp_path)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    decode = trainer.processing_class.decode
    for ids, labels, row in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), ROWS):
        text = decode(ids, skip_special_tokens=False)
        assert "Answer {briefly}." in text and f"Q: {row['prompt']}" in text  # the system and user turns are there
        learned = decode([i for i, label in zip(ids, labels) if label != -100], skip_special_tokens=True)
        assert learned == f"{row['response']} ({row['label']})"  # ... and only the assistant turn has labels


@pytest.mark.parametrize("extra,message", [
    (["data.system_prompt='{prompt} {verdict}'"],
     r"data.system_prompt uses \{verdict\} but dataset .* has no column 'verdict'; its columns are: prompt, "
     r"response, label"),
    (["data.user_prompt='{prompt}'", "data.assistant_prompt='{answer}'"],
     r"data.assistant_prompt uses \{answer\} .* no column 'answer'"),
])
def test_a_template_naming_a_missing_column_is_named(extra, message, tmp_path):
    from fai_rl.algorithms.sft import load_data

    data = write_jsonl(tmp_path / "d.jsonl", ROWS)
    run = make_run(["algorithm=sft", f"data.datasets=[{{name: {data}}}]", "data.eval_datasets=[]", *extra], tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_data(run, None)


@pytest.mark.parametrize("key,missing", [("user_prompt", "assistant_prompt"), ("assistant_prompt", "user_prompt")])
def test_one_split_template_alone_names_the_other(key, missing, tmp_path):
    with pytest.raises(ConfigError, match=f"^data.{missing} is missing: data.user_prompt and data.assistant_prompt "
                                          "go together"):
        make_run(["algorithm=sft", f"data.{key}='{{prompt}}'"], tmp_path)


def test_cpt_lowers_held_out_perplexity_on_the_embedded_default(tmp_path):
    from fai_rl.training.pipeline import train

    summary = train(make_run(["algorithm=cpt", "training.max_steps=5", "training.progress_bar=false"], tmp_path))
    before, after = summary["eval_before"]["eval_loss"], summary["eval_after"]["eval_loss"]
    assert after < before - 0.3, (before, after)  # perplexity exp(loss) falls by a quarter at least


@pytest.mark.parametrize("settings,message", [
    (["training.eval_split_ratio=0.2", "data.eval_datasets=[{name: builtin:tiny_prefs, split: test}]"],
     r"'training.eval_split_ratio' holds out eval rows but data.eval_datasets gives eval data too"),
    (["training.eval_split_ratio=1.0"], r"'training.eval_split_ratio' must be in \[0, 1\)"),
    (["training.early_stopping=true", "training.eval_steps=5", "training.eval_split_ratio=0.2", "data.eval_datasets=[]"],
     r"'training.early_stopping' needs training.load_best_model_at_end=true"),
])
def test_held_out_and_early_stopping_settings_are_checked(settings, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        make_run(["algorithm=cpt", *settings], tmp_path)


def test_eval_data_smaller_than_one_eval_batch_is_named(tmp_path):
    from fai_rl.training.pipeline import train

    data = write_jsonl(tmp_path / "eval.jsonl", TEXTS[:2])
    with pytest.raises(ConfigError, match=r"the eval data has 2 rows, fewer than one eval batch \(training."
                                          r"per_device_eval_batch_size=8"):
        train(make_run(["algorithm=cpt", f"data.eval_datasets=[{{name: {data}}}]"], tmp_path))
