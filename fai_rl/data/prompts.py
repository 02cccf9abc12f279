"""Prompt-only data for online RL: a `prompt` column (text or chat messages) plus every other column, which TRL
hands to the reward functions (e.g. `answer`, the reference answer).

Forms: a plain prompt column; chat messages; GSM8K (`question`, `answer` ending in `#### 42`) and MATH (`problem`,
`solution` with `\\boxed{}`) through `prompt_column`/`answer_column`. `data.prompt_template` rewrites the prompt
text (`{prompt}` and any `{column}`), `data.system_prompt` makes prompts chat messages led by a system message.
`data.prompt_template: fai_rl_math` builds FAI-RL's math prompt (fai_rl/data/math_prompt.py) and keeps the answer
after `####`, without commas.
"""
from __future__ import annotations

import logging

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.data.combine import concatenate
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.data.math_prompt import NAME as FAI_RL_MATH
from fai_rl.data.math_prompt import fai_rl_math
from fai_rl.data.preference import is_messages
from fai_rl.errors import ConfigError
from fai_rl.rewards.answers import reference_answer

log = logging.getLogger("fai_rl")


def _apply_template(text: str, row: dict, data: DataConfig, spec: DatasetSpec) -> str:
    if not data.prompt_template:
        return text
    try:
        return data.prompt_template.format_map({**row, "prompt": text})
    except (KeyError, IndexError) as err:
        raise ConfigError(f"data.prompt_template uses {{{err.args[0]}}} but dataset '{spec.name}' has no such "
                          f"column; use {{prompt}} or one of: {', '.join(row)}")


def build_prompt(value, row: dict, data: DataConfig, spec: DatasetSpec):
    """The prompt of one row: text, or chat messages when the data has them or a system prompt is set."""
    if data.prompt_template == FAI_RL_MATH:
        if not isinstance(value, str):
            raise ConfigError(f"dataset '{spec.name}': data.prompt_template {FAI_RL_MATH} needs a question as text in "
                              f"prompt column '{spec.prompt_column}', not {type(value).__name__}")
        return fai_rl_math(value, data.system_prompt)
    if is_messages(value):
        messages = [dict(m) for m in value]
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if users and isinstance(messages[users[-1]]["content"], str):
            messages[users[-1]]["content"] = _apply_template(messages[users[-1]]["content"], row, data, spec)
        if data.system_prompt and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": data.system_prompt})
        return messages
    if not isinstance(value, str):
        raise ConfigError(f"dataset '{spec.name}': prompt column '{spec.prompt_column}' holds {type(value).__name__} "
                          "values; it must hold text or chat messages [{role, content}, ...]")
    text = _apply_template(value, row, data, spec)
    if data.system_prompt:
        return [{"role": "system", "content": data.system_prompt}, {"role": "user", "content": text}]
    return text


def normalise(ds, spec: DatasetSpec, data: DataConfig, group: str):
    """One raw dataset -> `prompt` (+ `answer` from answer_column) + its other columns."""
    columns = {"prompt_column": spec.prompt_column}
    if spec.answer_column:
        columns["answer_column"] = spec.answer_column
    require_columns(ds, spec, columns, group)
    renamed = {spec.prompt_column, spec.answer_column} - {None}

    def convert(row):
        out = {k: v for k, v in row.items() if k not in renamed}
        out["prompt"] = build_prompt(row[spec.prompt_column], row, data, spec)
        if spec.answer_column:
            answer = str(row[spec.answer_column])
            out["answer"] = reference_answer(answer) if data.prompt_template == FAI_RL_MATH else answer
        return out

    ds = ds.map(convert, remove_columns=ds.column_names)
    empty = [i for i, p in enumerate(ds["prompt"]) if not p or (isinstance(p, str) and not p.strip())]
    if empty:
        raise ConfigError(f"dataset '{spec.name}': {len(empty)} row(s) have an empty prompt (first at row {empty[0]}); "
                          f"remove them or fix {group}[].prompt_column")
    return ds


def combine(parts: list, specs: list, group: str = "data.datasets"):
    """Concatenate datasets: plain prompts become user messages when any part is chat; only shared columns stay,
    each cast to one type (fai_rl.data.combine)."""
    if len(parts) == 1:
        return parts[0]
    chat = [is_messages(p[0]["prompt"]) for p in parts]
    if any(chat):
        parts = [p if c else p.map(lambda row: {"prompt": [{"role": "user", "content": row["prompt"]}]})
                 for p, c in zip(parts, chat)]
    shared = [c for c in parts[0].column_names if all(c in p.column_names for p in parts)]
    dropped = sorted({c for p in parts for c in p.column_names} - set(shared))
    if dropped:
        log.info("combining %d prompt datasets keeps their shared columns; left out: %s", len(parts), ", ".join(dropped))
    return concatenate([p.select_columns(shared) for p in parts], specs, group)


def prompt_length(prompt, tokenizer) -> int:
    if isinstance(prompt, str):
        return len(tokenizer(prompt)["input_ids"])
    return len(tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
               ["input_ids"])


def drop_long_prompts(ds, tokenizer, max_prompt_length: int, what: str):
    """Leave out prompts longer than max_prompt_length tokens (logged); an error when none remain."""
    lengths = [prompt_length(p, tokenizer) for p in ds["prompt"]]
    keep = [i for i, n in enumerate(lengths) if n <= max_prompt_length]
    if not keep:
        raise ConfigError(f"every prompt of {what} is longer than data.max_prompt_length ({max_prompt_length} "
                          f"tokens; the shortest has {min(lengths)}); raise data.max_prompt_length")
    if len(keep) < len(ds):
        log.warning("%s: left out %d of %d prompts longer than data.max_prompt_length (%d tokens)",
                    what, len(ds) - len(keep), len(ds), max_prompt_length)
        ds = ds.select(keep)
    return ds


def load_prompt_data(specs: list, data: DataConfig, tokenizer, what: str = "data.datasets"):
    """All specs of one split, normalised, combined, and prompts that fit data.max_prompt_length."""
    parts = [normalise(load_spec(spec), spec, data, what) for spec in specs]
    return drop_long_prompts(combine(parts, specs, what), tokenizer, data.max_prompt_length, what)


def require_reward_columns(ds, needed: dict, what: str) -> None:
    """needed: {column: reward name}; fail naming the reward, the column and the columns there are."""
    for column, reward in needed.items():
        if column not in ds.column_names:
            hint = " (set data.datasets[].answer_column)" if column == "answer" else ""
            raise ConfigError(f"reward '{reward}' needs a '{column}' column{hint}, but {what} has only: "
                              f"{', '.join(ds.column_names)}")
