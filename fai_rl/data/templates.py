"""Prompt templates (`data.prompt_template`): the fields a template uses, or the name of a built-in one (fai_rl_math:
fai_rl/data/math_prompt.py), checked while validating (no heavy imports)."""
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


def check_prompt_template(template: str) -> None:
    """data.prompt_template: a built-in template's name, or a template that uses at least one {field}."""
    if template in NAMED or template_fields(template):
        return
    raise ConfigError(f"'data.prompt_template' {template!r} uses no {{field}}, so every prompt would be that text"
                      f"{did_you_mean(template, NAMED)}; give a template such as \"{{prompt}}\\nAnswer after ####.\" "
                      f"or a built-in one: {', '.join(NAMED)}")
