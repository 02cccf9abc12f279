"""Supervised fine-tuning data in the forms people have, normalised to what TRL's SFTTrainer reads.

Forms: prompt + completion columns under any names (`prompt_column`, `completion_column`; e.g. question/response),
chat messages (`messages_column`: the last assistant turn becomes the completion, the turns before it the
prompt), or plain text (`text_column`, loss on every token). `data.system_prompt` with `{prompt}` is a template
for the prompt text (the FAI-RL recipes' meaning); without `{prompt}` it is prepended as a system message.
"""
from __future__ import annotations

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.data.combine import concatenate
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.data.preference import is_messages
from fai_rl.errors import ConfigError


def data_form(ds, spec: DatasetSpec) -> str:
    """Which form a raw dataset has: messages, prompt_completion or text."""
    if spec.messages_column in ds.column_names:
        return "messages"
    if spec.completion_column in ds.column_names:
        return "prompt_completion"
    if spec.text_column in ds.column_names:
        return "text"
    raise ConfigError(f"dataset '{spec.name}' has none of the SFT columns: '{spec.completion_column}' "
                      f"(completion_column, with prompt_column), '{spec.messages_column}' (messages_column) or "
                      f"'{spec.text_column}' (text_column); its columns are: {', '.join(ds.column_names)}")


def with_system_prompt(prompt, data: DataConfig):
    """The prompt with data.system_prompt applied: a template when it holds {prompt}, else a system message."""
    if not data.system_prompt:
        return prompt
    if "{prompt}" in data.system_prompt and isinstance(prompt, str):
        return data.system_prompt.replace("{prompt}", prompt)
    messages = prompt if is_messages(prompt) else [{"role": "user", "content": str(prompt)}]
    if messages and messages[0]["role"] == "system":
        return messages
    return [{"role": "system", "content": data.system_prompt}, *messages]


def _split_messages(messages: list, spec: DatasetSpec) -> tuple:
    last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
    if last is None:
        raise ConfigError(f"dataset '{spec.name}': a '{spec.messages_column}' conversation has no assistant turn "
                          "to learn; every conversation needs one")
    return messages[:last], messages[last:last + 1]


def normalise(ds, spec: DatasetSpec, data: DataConfig, group: str):
    """One raw dataset -> `prompt`/`completion` (text or messages) or `text`."""
    form = data_form(ds, spec)
    if form == "text":
        return ds.map(lambda row: {"text": str(row[spec.text_column])}, remove_columns=ds.column_names)
    if form == "messages":
        def convert(row):
            prompt, completion = _split_messages(row[spec.messages_column], spec)
            return {"prompt": with_system_prompt(prompt, data) if prompt else prompt, "completion": completion}
    else:
        require_columns(ds, spec, {"prompt_column": spec.prompt_column}, group)

        def convert(row):
            completion = row[spec.completion_column]
            if not completion or (isinstance(completion, str) and not completion.strip()):
                raise ConfigError(f"dataset '{spec.name}': a row has an empty '{spec.completion_column}'; remove it "
                                  f"or fix {group}[].completion_column")
            return {"prompt": with_system_prompt(row[spec.prompt_column], data), "completion": completion}
    return ds.map(convert, remove_columns=ds.column_names)


def load_sft_data(specs: list, data: DataConfig, group: str = "data.datasets"):
    """All specs of one split, normalised and combined (they must share one form)."""
    parts = [normalise(load_spec(spec), spec, data, group) for spec in specs]
    forms = {tuple(sorted(p.column_names)) for p in parts}
    if len(forms) > 1:
        raise ConfigError(f"{group}: the datasets mix SFT forms ({'; '.join(', '.join(f) for f in sorted(forms))}); "
                          "give all of them as prompt/completion, messages, or text")
    return concatenate(parts, specs, group)
