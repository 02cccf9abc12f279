"""Prompt templates (`data.prompt_template`): the fields a template uses, checked while validating (no heavy imports)."""
from __future__ import annotations

import string

from fai_rl.errors import ConfigError


def template_fields(template: str, where: str = "data.prompt_template") -> list:
    """Names a template uses; a ConfigError when its braces do not parse."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise ConfigError(f"'{where}' is not a valid template ({err}); use {{prompt}} and {{column}} fields, "
                          "{{ and }} for literal braces")
