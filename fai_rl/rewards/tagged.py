"""FAI-RL's math rewards (its trainers/rewards/accuracy_rewards.py and format_rewards.py), built in as
`exact_match`, `answer_is_digit` and `structured_xml`: with `data.prompt_template: fai_rl_math` they score what
FAI-RL's GRPO/GSPO recipes score, with the same numbers.

They read the answer as FAI-RL does: the text between the last `<answer>` and the `</answer>` after it, whitespace
collapsed (the whole completion when it has no tag). The reference is the dataset's `answer` column after `####`,
without commas (fai_rl.rewards.answers.reference_answer), so raw GSM8K answers score right too.
"""
from __future__ import annotations

from fai_rl.rewards.answers import completion_text, reference_answer

EXACT_MATCH = 2.0  # the <answer> text is the reference answer
DIGITS = 0.5  # the <answer> text is a whole number written in digits
PER_TAG = 0.125  # each of <think>, </think>, <answer>, </answer> present exactly once
PER_TRAILING_CHAR = 0.001  # taken off for every character after </answer>
TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def tagged_answer(completion) -> str:
    """The answer a completion gives in <answer> tags, as FAI-RL's extract_answer reads it."""
    answer = completion_text(completion).split("<answer>")[-1].split("</answer>")[0]
    return " ".join(answer.replace("\\n", "").replace("\n", "").replace("\r", "").split())


def exact_match(completions, answer, **kwargs) -> list:
    """2.0 when the <answer> text equals the reference answer exactly, else 0.0 (FAI-RL's exact_match_reward_func)."""
    return [EXACT_MATCH if tagged_answer(c) == reference_answer(ref) else 0.0 for c, ref in zip(completions, answer)]


exact_match.required_columns = ("answer",)


def answer_is_digit(completions, **kwargs) -> list:
    """0.5 when the <answer> text is digits only (a whole number), else 0.0 (FAI-RL's digit_reward_func)."""
    return [DIGITS if tagged_answer(c).isdigit() else 0.0 for c in completions]


def structured_xml(completions, **kwargs) -> list:
    """0.125 for each of <think>, </think>, <answer>, </answer> that appears exactly once, minus 0.001 for every
    character after </answer> (FAI-RL's structured_xml_reward_func): at most 0.5."""
    return [_tag_score(completion_text(c)) for c in completions]


def _tag_score(text: str) -> float:
    score = sum(PER_TAG for tag in TAGS if text.count(tag) == 1)
    if text.count("</answer>") == 1:
        score -= len(text.split("</answer>")[-1]) * PER_TRAILING_CHAR
    return score
