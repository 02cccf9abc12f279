"""Supervised fine-tuning data in the forms people have, normalised to what TRL's SFTTrainer reads.

Forms: prompt + completion columns under any names (`prompt_column`, `completion_column`; FAI-RL's `response`
when the completion column is left at its default), chat messages (`messages_column`: the last assistant turn
becomes the completion, the turns before it the prompt), or plain text (`text_column`, loss on every token).

FAI-RL's templates (str.format over each row's columns, `{{ }}` literal braces) take precedence over the forms:
- single template: `data.system_prompt` with `{column}` fields; its text is the whole training text (loss on
  every token);
- split mode: `data.user_prompt` + `data.assistant_prompt`; each row becomes a chat (a system turn from
  `data.system_prompt` when set) whose assistant turn alone is learned.
Otherwise a `data.system_prompt` without fields is put first as a system message.
"""
from __future__ import annotations

import logging

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.data.combine import concatenate
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.data.preference import is_messages
from fai_rl.data.templates import template_fields
from fai_rl.errors import ConfigError

log = logging.getLogger("fai_rl")
COMPLETION_DEFAULT, FAI_RL_COMPLETION = "completion", "response"  # FAI-RL's SFT files: prompt + response


def split_mode(data: DataConfig) -> bool:
    """FAI-RL's split mode: user and assistant turns from templates, the loss on the assistant turn only."""
    return bool(data.user_prompt or data.assistant_prompt)


def single_template(data: DataConfig) -> bool:
    """FAI-RL's single template: data.system_prompt with {column} fields is the whole training text."""
    return bool(data.system_prompt) and not split_mode(data) and bool(template_fields(data.system_prompt,
                                                                                       "data.system_prompt"))


def templates(data: DataConfig) -> dict:
    """The templates of the row-template modes ({data key: template}); empty when none applies."""
    if split_mode(data):
        keys = ("system_prompt", "user_prompt", "assistant_prompt")
    elif single_template(data):
        keys = ("system_prompt",)
    else:
        return {}
    return {key: getattr(data, key) for key in keys if getattr(data, key)}


def _require_template_columns(ds, spec: DatasetSpec, data: DataConfig, group: str) -> None:
    for key, template in templates(data).items():
        for field_name in template_fields(template, f"data.{key}"):
            column = field_name.split(".")[0].split("[")[0]
            if column not in ds.column_names:
                raise ConfigError(f"data.{key} uses {{{field_name}}} but dataset '{spec.name}' ({group}) has no "
                                  f"column '{column}'; its columns are: {', '.join(ds.column_names)}")


def _require_completion_in_template(ds, spec: DatasetSpec, data: DataConfig) -> None:
    """A single template is the whole training text: one that leaves out the data's answers would train on the
    questions alone (before FAI-RL's templates, fai-rl filled data.system_prompt into the prompt only)."""
    column = completion_column(ds, spec)
    used = {f.split(".")[0].split("[")[0] for f in template_fields(data.system_prompt, "data.system_prompt")}
    if column in ds.column_names and column not in used:
        raise ConfigError(f"data.system_prompt is the whole training text (FAI-RL's single template) but leaves out "
                          f"dataset '{spec.name}''s completion column '{column}', so its answers would not be "
                          f"learned; add {{{column}}} to the template, or put the question in data.user_prompt and "
                          f"the answer in data.assistant_prompt (loss on the answer only)")


def _render(key: str, template: str, row: dict, spec: DatasetSpec) -> str:
    text = template.format_map(row)
    if not text.strip():
        raise ConfigError(f"dataset '{spec.name}': a row renders data.{key} as empty text; fill or remove the "
                          "row's columns it uses")
    return text


def templated(ds, spec: DatasetSpec, data: DataConfig, group: str):
    """One raw dataset through FAI-RL's templates -> `text` (single) or chat `prompt`/`completion` (split)."""
    _require_template_columns(ds, spec, data, group)
    if not split_mode(data):
        _require_completion_in_template(ds, spec, data)
        return ds.map(lambda row: {"text": _render("system_prompt", data.system_prompt, row, spec)},
                      remove_columns=ds.column_names)

    def convert(row):
        prompt = [{"role": "system", "content": data.system_prompt.format_map(row)}] if data.system_prompt else []
        prompt.append({"role": "user", "content": _render("user_prompt", data.user_prompt, row, spec)})
        completion = [{"role": "assistant", "content": _render("assistant_prompt", data.assistant_prompt, row, spec)}]
        return {"prompt": prompt, "completion": completion}
    return ds.map(convert, remove_columns=ds.column_names)


def completion_column(ds, spec: DatasetSpec) -> str:
    """spec.completion_column, or `response` when it is left at its default and the data has that instead."""
    if spec.completion_column == COMPLETION_DEFAULT and COMPLETION_DEFAULT not in ds.column_names \
            and FAI_RL_COMPLETION in ds.column_names:
        return FAI_RL_COMPLETION
    return spec.completion_column


def data_form(ds, spec: DatasetSpec) -> str:
    """Which form a raw dataset has: messages, prompt_completion or text."""
    if spec.messages_column in ds.column_names:
        return "messages"
    if completion_column(ds, spec) in ds.column_names:
        return "prompt_completion"
    if spec.text_column in ds.column_names:
        return "text"
    raise ConfigError(f"dataset '{spec.name}' has none of the SFT columns: '{spec.completion_column}' "
                      f"(completion_column, with prompt_column), '{spec.messages_column}' (messages_column) or "
                      f"'{spec.text_column}' (text_column); its columns are: {', '.join(ds.column_names)}; or "
                      "build the text from any columns with data.system_prompt (or data.user_prompt and "
                      "data.assistant_prompt)")


def with_system_prompt(prompt, data: DataConfig):
    """The prompt with data.system_prompt (no {column} fields) put first as a system message."""
    if not data.system_prompt:
        return prompt
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
    if templates(data):
        return templated(ds, spec, data, group)
    form = data_form(ds, spec)
    if form == "text":
        return ds.map(lambda row: {"text": str(row[spec.text_column])}, remove_columns=ds.column_names)
    if form == "messages":
        def convert(row):
            prompt, completion = _split_messages(row[spec.messages_column], spec)
            return {"prompt": with_system_prompt(prompt, data) if prompt else prompt, "completion": completion}
    else:
        require_columns(ds, spec, {"prompt_column": spec.prompt_column}, group)
        column = completion_column(ds, spec)

        def convert(row):
            completion = row[column]
            if not completion or (isinstance(completion, str) and not completion.strip()):
                raise ConfigError(f"dataset '{spec.name}': a row has an empty '{column}'; remove it "
                                  f"or fix {group}[].completion_column")
            return {"prompt": with_system_prompt(row[spec.prompt_column], data), "completion": completion}
    return ds.map(convert, remove_columns=ds.column_names)


def load_sft_data(specs: list, data: DataConfig, group: str = "data.datasets"):
    """All specs of one split, normalised and combined (they must share one form)."""
    parts = [normalise(load_spec(spec), spec, data, group) for spec in specs]
    return combine(parts, specs, group, "SFT forms", "give all of them as prompt/completion, messages, or text")


def combine(parts: list, specs: list, group: str, what: str, fix: str):
    """Datasets of one split as one: they must share their columns, whose types are aligned across file formats
    (fai_rl/data/combine.py)."""
    forms = {tuple(sorted(p.column_names)) for p in parts}
    if len(forms) > 1:
        raise ConfigError(f"{group}: the datasets mix {what} ({'; '.join(', '.join(f) for f in sorted(forms))}); "
                          + fix)
    return concatenate(parts, specs, group)


def load_text_data(specs: list, group: str = "data.datasets"):
    """Raw text for continued pretraining: each spec's text_column as `text`, blank rows left out."""
    parts = []
    for spec in specs:
        ds = load_spec(spec)
        require_columns(ds, spec, {"text_column": spec.text_column}, group)
        rows = len(ds)
        ds = ds.filter(lambda row: isinstance(row[spec.text_column], str) and bool(row[spec.text_column].strip()))
        if rows > len(ds):
            log.info("dataset '%s': %d blank '%s' rows left out", spec.name, rows - len(ds), spec.text_column)
        if len(ds) == 0:
            raise ConfigError(f"dataset '{spec.name}' ({group}) has no non-empty '{spec.text_column}' text "
                              "(text_column)")
        parts.append(ds.map(lambda row: {"text": row[spec.text_column]}, remove_columns=ds.column_names))
    return combine(parts, specs, group, "columns", "give each a text column")
