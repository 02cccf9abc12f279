"""FAI-RL's GRPO/GSPO recipes on math data train what they say (issue 24): FAI-RL's prompt (system prompt + one
worked <think>/<answer> example), answers after `####`, FAI-RL's rewards with its numbers, its GSPO batch shape at
one GPU, and dataset lists that mix jsonl, json, csv and parquet files."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, make_run, write_jsonl

from fai_rl.cli import seed_recipe
from fai_rl.cli.overrides import conf_tree
from fai_rl.config.schema import DataConfig, DatasetSpec, ModelConfig
from fai_rl.data.math_prompt import EXAMPLE_ANSWER, EXAMPLE_QUESTION, SYSTEM_PROMPT
from fai_rl.data.templates import check_prompt_template
from fai_rl.errors import ConfigError
from fai_rl.rewards import resolve

MATH_REWARDS = ["exact_match", "answer_is_digit", "structured_xml"]
GSM8K_ROWS = [json.loads(line) for line in (REPO / "fai_rl/data/bundled/tiny_math/train.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def tokenizer():
    from fai_rl.models.loading import load_tokenizer

    return load_tokenizer(ModelConfig())


def scores(completions, answers) -> dict:
    """Each FAI-RL reward, resolved by its built-in name and called as TRL calls it."""
    return {r.name: r.fn(prompts=["q"] * len(completions), completions=completions, answer=answers)
            for r in resolve(MATH_REWARDS)}


def test_fai_rl_rewards_give_its_numbers_on_hand_written_completions():
    right = "<think>\n2 + 3 = 5\n</think>\n<answer>\n5\n</answer>"
    completions = [
        right,                                                     # all four tags, the answer, nothing after
        right + "\nabc",                                          # 4 characters after </answer>
        "<think>2 * 617 = 1234</think><answer>1234</answer>",     # reference '#### 1,234': commas dropped
        "<think>2 * 617</think><answer>1,234</answer>",            # the same answer written with a comma
        "<think>hmm</think><answer>six</answer>",                  # wrong, and not digits
        "<answer>5</answer>",                                      # two of the four tags
        "<think>a</think><think>b</think><answer>5</answer>",     # <think> twice: neither think tag counts
        [{"role": "assistant", "content": right}],                 # chat completions read the same way
    ]
    answers = ["2 + 3 = 5\n#### 5", "#### 5", "#### 1,234", "#### 1,234", "#### 6", "5", "#### 5", "#### 5"]
    got = scores(completions, answers)
    assert got["exact_match"] == [2.0, 2.0, 2.0, 0.0, 0.0, 2.0, 2.0, 2.0]
    assert got["answer_is_digit"] == [0.5, 0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.5]
    assert got["structured_xml"] == pytest.approx([0.5, 0.5 - 4 * 0.001, 0.5, 0.5, 0.5, 0.25, 0.25, 0.5])


def test_fai_rl_math_prompt_from_gsm8k_jsonl_and_openmathinstruct_parquet(tmp_path, tokenizer):
    from fai_rl.data.prompts import load_prompt_data

    gsm8k = write_jsonl(tmp_path / "gsm8k.jsonl", [{"question": "Ana has 1,000 coins and finds 234. How many?",
                                                   "answer": "1000 + 234 = 1234\n#### 1,234"}])
    omi = tmp_path / "omi.parquet"  # nvidia/OpenMathInstruct-2's columns, as pyarrow writes text (large_string)
    pq.write_table(pa.table({"problem": pa.array(["What is 6 x 7?"], pa.large_string()),
                             "generated_solution": pa.array(["6 x 7 = 42"], pa.large_string()),
                             "expected_answer": pa.array(["42"], pa.large_string())}), omi)
    specs = [DatasetSpec(name=str(gsm8k), prompt_column="question", answer_column="answer"),
             DatasetSpec(name=str(omi), prompt_column="problem", answer_column="expected_answer")]
    ds = load_prompt_data(specs, DataConfig(prompt_template="fai_rl_math", max_prompt_length=256), tokenizer)
    assert ds["answer"] == ["1234", "42"]
    assert ds[1]["prompt"] == [{"role": "system", "content": SYSTEM_PROMPT},
                               {"role": "user", "content": EXAMPLE_QUESTION},
                               {"role": "assistant", "content": EXAMPLE_ANSWER},
                               {"role": "user", "content": "What is 6 x 7?"}]
    assert "<think>" in SYSTEM_PROMPT and "<answer>\n7\n</answer>" in EXAMPLE_ANSWER
    with pytest.raises(ConfigError, match=r"'data.prompt_template' 'fai_rl_maths' uses no \{field\}.*"
                                          r"did you mean 'fai_rl_math'"):
        check_prompt_template("fai_rl_maths")


def _preference_files(tmp_path) -> list:
    """The same kind of pairs as .jsonl, .json, .csv and .parquet (large_string text, as pandas/pyarrow write)."""
    rows = [{"prompt": f"Question {i}?", "chosen": f"right {i}", "rejected": f"wrong {i}", "id": i} for i in range(4)]
    paths = [write_jsonl(tmp_path / "a.jsonl", rows), tmp_path / "b.json", tmp_path / "c.csv", tmp_path / "d.parquet"]
    paths[1].write_text(json.dumps(rows))
    paths[2].write_text("prompt,chosen,rejected,id\n" + "".join(f"Q{i}?,yes {i},no {i},x{i}\n" for i in range(4)))
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema(
        [(k, pa.large_string()) for k in ("prompt", "chosen", "rejected")] + [("id", pa.int32())])), paths[3])
    return paths


def test_dpo_and_prompt_lists_mix_jsonl_json_csv_and_parquet(tmp_path, tokenizer):
    from fai_rl.data.preference import load_preference_data
    from fai_rl.data.prompts import load_prompt_data

    paths = _preference_files(tmp_path)
    specs = [DatasetSpec(name=str(p)) for p in paths]
    pairs = load_preference_data(specs, DataConfig(max_prompt_length=48), tokenizer)
    assert len(pairs) == 16 and pairs[8] == {"prompt": "Q0?", "chosen": "yes 0", "rejected": "no 0"}
    prompts = load_prompt_data([DatasetSpec(name=str(p), answer_column="chosen") for p in paths],
                               DataConfig(max_prompt_length=48), tokenizer)
    assert len(prompts) == 16 and prompts["id"][:1] + prompts["id"][8:9] == ["0", "x0"]  # int and text: one column
    chat = write_jsonl(tmp_path / "chat.jsonl", [{"prompt": [{"role": "user", "content": "hi"}], "chosen": "a",
                                                   "rejected": "b", "id": [{"role": "user", "content": "x"}]}])
    with pytest.raises(ConfigError, match=r"data.datasets: column 'id' holds different kinds of values \(.* in "
                                          rf"'{paths[0]}'.* in '{chat}'\)"):
        load_prompt_data([specs[0], DatasetSpec(name=str(chat))], DataConfig(max_prompt_length=48), tokenizer)


def _recipe(tmp_path, algorithm: str, **training) -> dict:
    """A FAI-RL GRPO/GSPO recipe on GSM8K and OpenMathInstruct-2 shaped files (the tiny model: no hub here)."""
    write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS[:12])
    pq.write_table(pa.Table.from_pylist([{"problem": r["question"], "expected_answer": r["answer"].split("#### ")[-1]}
                                         for r in GSM8K_ROWS[12:16]]), tmp_path / "omi.parquet")
    return {"model": {"base_model_name": "builtin:tiny", "torch_dtype": "float32", "low_cpu_mem_usage": True},
            "data": {"datasets": [{"name": str(tmp_path / "gsm8k.jsonl"), "subset": None, "split": "train",
                                   "prompt_column": "question", "answer_column": "answer"},
                                  {"name": str(tmp_path / "omi.parquet"), "split": "train",
                                   "prompt_column": "problem", "answer_column": "expected_answer"}],
                     "max_length": 272, "max_prompt_length": 256, "remove_unused_columns": False},
            "training": {"algorithm": algorithm, "output_dir": str(tmp_path / "model"), "per_device_train_batch_size": 1,
                         "gradient_accumulation_steps": 8, "learning_rate": 1.0e-5, "num_train_epochs": 1,
                         "max_steps": -1, "warmup_steps": 50, "logging_steps": 1, "save_steps": 100, "bf16": False,
                         "fp16": False, "gradient_checkpointing": True, "num_generations": 8, **training},
            "wandb": {"enabled": False}}


def test_grpo_recipe_on_math_files_composes_with_fai_rl_prompt_rewards_and_lengths(tmp_path):
    recipe = _recipe(tmp_path, "grpo")
    tree = conf_tree([])
    overrides = seed_recipe.to_overrides(recipe, tree) + seed_recipe.hardware_overrides(1, "cpu", tree)
    assert seed_recipe.fit_generation_batch(overrides, [], tree) == ([], None)  # 1 x 8 accumulation x 1 = 8 fits
    run = make_run(overrides, tmp_path)
    a, d, t = run.algorithm, run.data, run.training
    assert (a.name, a.rewards, d.prompt_template) == ("grpo", MATH_REWARDS, "fai_rl_math")  # never letter_share
    assert (a.max_completion_length, d.max_length, d.max_prompt_length) == (16, 272, 256)
    assert (a.num_generations, a.steps_per_generation, t.per_device_train_batch_size) == (8, None, 1)
    assert (t.gradient_accumulation_steps, t.learning_rate, t.warmup_steps) == (8, 1e-5, 50)
    assert [s.answer_column for s in d.datasets] == ["answer", "expected_answer"] and d.eval_datasets == []
    mine = {**recipe, "algorithm": {"rewards": ["accuracy"]}, "data": {**recipe["data"], "prompt_template": "{prompt}"}}
    assert not any(o.startswith(("data.prompt_template=fai", "algorithm.rewards=[exact"))
                   for o in seed_recipe.to_overrides(mine, tree))  # a recipe's own prompt and rewards stay


def test_gspo_recipe_shaped_like_fai_rl_trains_at_one_gpu(tmp_path):
    """FAI-RL's GSPO recipe shape at --num-gpus 1: batch 1 x steps_per_generation 4 = 4 completions a round, groups
    of 8. TRL refuses that (FAI-RL's own run too); here steps_per_generation becomes 8, said in one line, and the
    optimizer step keeps its 8 completions. 3 steps on FAI-RL's prompt and rewards."""
    path = tmp_path / "gspo.yaml"
    path.write_text(yaml.safe_dump(_recipe(tmp_path, "gspo", beta=0, epsilon=3e-4, epsilon_high=4e-4,
                                           steps_per_generation=4)))
    proc = subprocess.run([sys.executable, "-m", "fai_rl.cli.seed", "--recipe", str(path), "--num-gpus", "1",
                           "--hardware", "cpu", "training.max_steps=3", "training.progress_bar=false",
                           f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ("1 x 4 x 1 = 4 completions is no whole number of groups of 8 (TRL refuses it), so steps_per_generation "
            "is 8" in proc.stdout), proc.stdout[-2000:]
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    a, d, t = config["algorithm"], config["data"], config["training"]
    assert (a["name"], a["importance_sampling_level"], a["loss_type"]) == ("gspo", "sequence", "grpo")
    assert (a["num_generations"], a["steps_per_generation"], a["beta"]) == (8, 8, 0)
    assert (a["epsilon"], a["epsilon_high"], a["max_completion_length"]) == (3e-4, 4e-4, 16)
    assert (a["rewards"], d["prompt_template"]) == (MATH_REWARDS, "fai_rl_math")
    assert (t["per_device_train_batch_size"], t["gradient_accumulation_steps"], t["max_steps"]) == (1, 8, 3)
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = [m for m in metrics if "rewards/exact_match/mean" in m]
    assert len(logged) == 3 and all("rewards/structured_xml/mean" in m for m in logged)
    assert (tmp_path / "model" / "model.safetensors").exists()
