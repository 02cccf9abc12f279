"""Preference data in the forms people have, normalised to prompt/chosen/rejected columns for TRL.

Forms: explicit prompt + chosen/rejected strings; no prompt column, the prompt embedded as the shared start of
chosen and rejected (hh-rlhf dialogues); chat messages (chosen/rejected and maybe prompt as lists of messages).
"""
from __future__ import annotations

from fai_rl.config.schema import DataConfig, DatasetSpec
from fai_rl.data.combine import concatenate
from fai_rl.data.loading import load_spec, require_columns
from fai_rl.errors import ConfigError

DEFAULT_PROMPT_COLUMN = "prompt"
DIALOGUE_MARKERS = ("\n\nAssistant:", "\nAssistant:", "Assistant:")


def is_messages(value) -> bool:
    return isinstance(value, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in value)


def split_text_prompt(chosen: str, rejected: str) -> tuple:
    """Shared start of two strings, cut back to the last assistant turn marker (or a word boundary)."""
    n = 0
    for a, b in zip(chosen, rejected):
        if a != b:
            break
        n += 1
    prefix = chosen[:n]
    if n == len(chosen) or n == len(rejected):  # one is a prefix of the other: back off to a boundary
        prefix = prefix[: max(prefix.rfind(" "), 0)]
    for marker in DIALOGUE_MARKERS:
        cut = prefix.rfind(marker)
        if cut >= 0:
            prefix = prefix[: cut + len(marker)]
            break
    else:
        prefix = prefix[: prefix.rfind(" ") + 1] if " " in prefix else ""
    return prefix, chosen[len(prefix):], rejected[len(prefix):]


def split_message_prompt(chosen: list, rejected: list) -> tuple:
    n = 0
    while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
        n += 1
    return chosen[:n], chosen[n:], rejected[n:]


def _normalise_row(row: dict, spec: DatasetSpec, has_prompt: bool) -> dict:
    chosen, rejected = row[spec.chosen_column], row[spec.rejected_column]
    if has_prompt:
        prompt = row[spec.prompt_column]
        if is_messages(chosen) and isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if is_messages(chosen) and is_messages(rejected):
        prompt, chosen, rejected = split_message_prompt(chosen, rejected)
    else:
        prompt, chosen, rejected = split_text_prompt(str(chosen), str(rejected))
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def _check_not_empty(ds, spec: DatasetSpec, group: str) -> None:
    for column in ("chosen", "rejected"):
        empty = [i for i, value in enumerate(ds[column]) if not value or (isinstance(value, str) and not value.strip())]
        if empty:
            raise ConfigError(
                f"dataset '{spec.name}': {len(empty)} row(s) have an empty '{column}' response "
                f"(first at row {empty[0]}); remove them or fix {group}[].{column}_column"
            )


def normalise(ds, spec: DatasetSpec, group: str):
    """One raw dataset of `group` (data.datasets or data.eval_datasets) -> columns prompt/chosen/rejected."""
    require_columns(ds, spec, {"chosen_column": spec.chosen_column, "rejected_column": spec.rejected_column}, group)
    has_prompt = spec.prompt_column in ds.column_names
    if not has_prompt and spec.prompt_column != DEFAULT_PROMPT_COLUMN:
        require_columns(ds, spec, {"prompt_column": spec.prompt_column}, group)
    ds = ds.map(lambda row: _normalise_row(row, spec, has_prompt), remove_columns=ds.column_names)
    _check_not_empty(ds, spec, group)
    return ds


def _render_messages(ds, tokenizer):
    """Chat messages -> text with the model's chat template (used when mixing chat and plain datasets)."""
    def render(row):
        prompt = tokenizer.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        full = {c: tokenizer.apply_chat_template(row["prompt"] + row[c], tokenize=False) for c in ("chosen", "rejected")}
        return {"prompt": prompt, **{c: full[c][len(prompt):] for c in full}}

    return ds.map(render)


def _truncate_prompts(ds, tokenizer, max_prompt_length: int):
    """Keep the last max_prompt_length tokens of plain-text prompts (the end is nearest the response)."""
    def cut(row):
        ids = tokenizer(row["prompt"], add_special_tokens=False)["input_ids"]
        if len(ids) <= max_prompt_length:
            return row
        return {"prompt": tokenizer.decode(ids[-max_prompt_length:])}

    return ds.map(cut)


def load_preference_data(specs: list, data: DataConfig, tokenizer, group: str = "data.datasets"):
    """All specs of one split (`group`: data.datasets or data.eval_datasets), normalised and combined."""
    parts = [normalise(load_spec(spec), spec, group) for spec in specs]
    chat = [is_messages(p[0]["chosen"]) for p in parts]
    if any(chat) and not all(chat):
        parts = [_render_messages(p, tokenizer) if c else p for p, c in zip(parts, chat)]
    elif all(chat):
        return concatenate(parts, specs, group)
    combined = concatenate(parts, specs, group)
    return _truncate_prompts(combined, tokenizer, data.max_prompt_length)
