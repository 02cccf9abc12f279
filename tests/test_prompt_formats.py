"""Prompt-only data in each form people have becomes a `prompt` column plus the columns rewards read."""
from __future__ import annotations

import pytest
from conftest import write_jsonl

from fai_rl.config.schema import DataConfig, DatasetSpec, ModelConfig
from fai_rl.data.prompts import load_prompt_data
from fai_rl.data.templates import template_fields
from fai_rl.errors import ConfigError


@pytest.fixture(scope="module")
def tokenizer():
    from fai_rl.models.loading import load_tokenizer

    return load_tokenizer(ModelConfig())


def _load(tmp_path, rows, tokenizer, name="d.jsonl", **data):
    spec_keys = {k: data.pop(k) for k in ("prompt_column", "answer_column") if k in data}
    path = write_jsonl(tmp_path / name, rows)
    return load_prompt_data([DatasetSpec(name=str(path), **spec_keys)], DataConfig(**data), tokenizer)


def test_plain_prompts_keep_their_other_columns(tmp_path, tokenizer):
    ds = _load(tmp_path, [{"prompt": "Hum like aria:", "level": 1}], tokenizer)
    assert ds[0] == {"prompt": "Hum like aria:", "level": 1}


def test_gsm8k_question_and_answer_columns(tmp_path, tokenizer):
    rows = [{"question": "Ana has 2 apples and gets 3 more. How many?", "answer": "2 + 3 = 5\n#### 5"}]
    ds = _load(tmp_path, rows, tokenizer, prompt_column="question", answer_column="answer",
               prompt_template="{prompt}\nAnswer after ####.")
    assert ds[0]["prompt"] == "Ana has 2 apples and gets 3 more. How many?\nAnswer after ####."
    assert ds[0]["answer"] == "2 + 3 = 5\n#### 5"
    assert "question" not in ds.column_names


def test_math_style_with_system_prompt_becomes_chat(tmp_path, tokenizer):
    rows = [{"problem": "What is 1/2 + 1/4?", "solution": "It is $\\boxed{\\frac{3}{4}}$.", "level": "Level 1"}]
    ds = _load(tmp_path, rows, tokenizer, prompt_column="problem", answer_column="solution",
               system_prompt="Box the answer.", prompt_template="[{level}] {prompt}")
    assert ds[0]["prompt"] == [{"role": "system", "content": "Box the answer."},
                               {"role": "user", "content": "[Level 1] What is 1/2 + 1/4?"}]
    assert ds[0]["answer"].endswith("\\boxed{\\frac{3}{4}}$.")


def test_conversational_prompts_get_the_template_on_the_last_user_turn(tmp_path, tokenizer):
    rows = [{"prompt": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "2+2?"}]}]
    ds = _load(tmp_path, rows, tokenizer, prompt_template="{prompt} Think first.")
    assert ds[0]["prompt"][0]["content"] == "hi" and ds[0]["prompt"][2]["content"] == "2+2? Think first."


def test_combined_datasets_share_columns_and_chat_form(tmp_path, tokenizer):
    a = write_jsonl(tmp_path / "a.jsonl", [{"question": "1+1?", "answer": "#### 2", "source": "a"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"prompt": [{"role": "user", "content": "2+2?"}], "solution": "\\boxed{4}"}])
    specs = [DatasetSpec(name=str(a), prompt_column="question", answer_column="answer"),
             DatasetSpec(name=str(b), answer_column="solution")]
    ds = load_prompt_data(specs, DataConfig(), tokenizer)
    assert sorted(ds.column_names) == ["answer", "prompt"]
    assert ds["prompt"] == [[{"role": "user", "content": "1+1?"}], [{"role": "user", "content": "2+2?"}]]
    assert ds["answer"] == ["#### 2", "\\boxed{4}"]


def test_prompts_longer_than_max_prompt_length_are_left_out(tmp_path, tokenizer):
    ds = _load(tmp_path, [{"prompt": "short"}, {"prompt": "a much longer prompt " * 20}], tokenizer,
               max_prompt_length=16, max_length=64)
    assert ds["prompt"] == ["short"]
    with pytest.raises(ConfigError, match="every prompt of data.datasets is longer than data.max_prompt_length"):
        _load(tmp_path, [{"prompt": "a much longer prompt " * 20}], tokenizer, max_prompt_length=16, max_length=64)


@pytest.mark.parametrize("rows,kwargs,message", [
    ([{"question": "q"}], {"prompt_column": "problem"}, "has no column 'problem'"),
    ([{"question": "q"}], {"prompt_column": "question", "answer_column": "answer"}, "has no column 'answer'"),
    ([{"prompt": "q"}], {"prompt_template": "{prompt} {hint}"}, "uses {hint}"),
    ([{"prompt": "q"}, {"prompt": " "}], {}, "have an empty prompt"),
    ([{"prompt": 3}], {}, "must hold text or chat messages"),
])
def test_bad_prompt_data_names_the_problem(tmp_path, tokenizer, rows, kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        _load(tmp_path, rows, tokenizer, **kwargs)


def test_template_syntax_error():
    assert template_fields("{prompt} and {answer}") == ["prompt", "answer"]
    with pytest.raises(ConfigError, match="data.prompt_template"):
        template_fields("{prompt")
