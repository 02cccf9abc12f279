"""FAI-RL's math prompt, `data.prompt_template: fai_rl_math` (its trainers/templates/gsm8k_template.py and
openmathinstruct_template.py): a system message asking for `<think>...</think><answer>...</answer>`, one worked
example in that form, then the question; the reference answer keeps only what follows `####`, without commas.

Pair it with FAI-RL's rewards (exact_match, answer_is_digit, structured_xml: fai_rl/rewards/tagged.py). Light: no
heavy imports, it is read while a config is validated.
"""
from __future__ import annotations

from typing import Optional

NAME = "fai_rl_math"
SYSTEM_PROMPT = "\nRespond in the following format:\n\n<think>\n...\n</think>\n<answer>\n...\n</answer>\n"
EXAMPLE_QUESTION = "What is the largest single-digit prime number?"
EXAMPLE_ANSWER = ("<think>\n9 is divisible by 3 and 8 is divisible by 2, but 7 is prime.\n</think>\n"
                  "<answer>\n7\n</answer>\n")


def fai_rl_math(question: str, system_prompt: Optional[str] = None) -> list:
    """The chat messages FAI-RL trains on for one question; `system_prompt` (data.system_prompt) replaces its own."""
    return [{"role": "system", "content": system_prompt or SYSTEM_PROMPT},
            {"role": "user", "content": EXAMPLE_QUESTION},
            {"role": "assistant", "content": EXAMPLE_ANSWER},
            {"role": "user", "content": question}]
