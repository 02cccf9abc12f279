"""Data templates: `data.prompt_template` (a template's fields, or the name of a built-in one, fai_rl_math:
fai_rl/data/math_prompt.py) and SFT's system_prompt, user_prompt and assistant_prompt, checked while validating
(no heavy imports)."""
from __future__ import annotations

import string

from fai_rl.config.typed import did_you_mean
from fai_rl.data.math_prompt import NAME as FAI_RL_MATH
from fai_rl.errors import ConfigError

NAMED = (FAI_RL_MATH,)  # built-in prompt templates, chosen by name


def template_fields(template: str, where: str = "data.prompt_template") -> list:
    """Names a template uses; a ConfigError when its braces do not parse."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise ConfigError(f"'{where}' is not a valid template ({err}); use {{prompt}} and {{column}} fields, "
                          "{{ and }} for literal braces")


def check_sft_templates(data) -> None:
    """SFT data templates (data.DataConfig): split mode needs both turns, and every template must parse."""
    if bool(data.user_prompt) != bool(data.assistant_prompt):
        missing = "data.assistant_prompt" if data.user_prompt else "data.user_prompt"
        raise ConfigError(f"{missing} is missing: data.user_prompt and data.assistant_prompt go together (split "
                          "mode, the loss on the assistant turn); set both, or neither for one template")
    for key in ("system_prompt", "user_prompt", "assistant_prompt"):
        if getattr(data, key):
            template_fields(getattr(data, key), f"data.{key}")


def check_prompt_template(template: str) -> None:
    """data.prompt_template: a built-in template's name, or a template that uses at least one {field}."""
    if template in NAMED or template_fields(template):
        return
    raise ConfigError(f"'data.prompt_template' {template!r} uses no {{field}}, so every prompt would be that text"
                      f"{did_you_mean(template, NAMED)}; give a template such as \"{{prompt}}\\nAnswer after ####.\" "
                      f"or a built-in one: {', '.join(NAMED)}")
