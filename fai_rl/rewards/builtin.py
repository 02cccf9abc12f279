"""Built-in reward functions, in TRL's form: f(completions, ..., **kwargs) -> one float per completion.

TRL calls a reward with prompts, completions, completion_ids and every other dataset column as keyword
arguments (lists, one entry per completion). Keyword arguments set in the config (e.g. `target: 64`) are bound
before training. `required_columns` names the dataset columns a reward reads; loading the data checks them.
"""
from __future__ import annotations

import re

from fai_rl.errors import ConfigError
from fai_rl.rewards.answers import answers_match, completion_text, final_answer
from fai_rl.rewards.tagged import answer_is_digit, exact_match, structured_xml

THINK_ANSWER = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)


def answer_accuracy(completions, answer, **kwargs) -> list:
    """1.0 when the completion's final answer equals the reference answer's, else 0.0.

    Both sides are read the same way: <answer> tags, \\boxed{}, `#### x` (GSM8K), or the last number; numbers
    compare by value (1,000 = 1000.0), other answers as text without spaces or LaTeX decoration.
    """
    return [float(answers_match(final_answer(completion_text(c)), final_answer(str(ref))))
            for c, ref in zip(completions, answer)]


answer_accuracy.required_columns = ("answer",)


def think_answer_format(completions, **kwargs) -> list:
    """1.0 when the completion is `<think>...</think><answer>...</answer>` (whitespace around allowed), else 0.0."""
    return [float(THINK_ANSWER.fullmatch(completion_text(c)) is not None) for c in completions]


def _lengths(completions, completion_ids) -> list:
    if completion_ids is not None:
        return [len(ids) for ids in completion_ids]
    return [len(completion_text(c).split()) for c in completions]


def length_target(completions, target: int, completion_ids=None, **kwargs) -> list:
    """1.0 at exactly `target` completion tokens, falling linearly to 0.0 at 0 or 2 x target tokens."""
    if target <= 0:
        raise ConfigError(f"reward 'length_target': target must be > 0 tokens, got {target}")
    return [max(0.0, 1.0 - abs(n - target) / target) for n in _lengths(completions, completion_ids)]


def length_penalty(completions, limit: int, per_token: float = 0.01, completion_ids=None, **kwargs) -> list:
    """-per_token for every completion token beyond `limit` (0.0 within it)."""
    return [-per_token * max(0, n - limit) for n in _lengths(completions, completion_ids)]


def letter_share(completions, letters: str = "aeiou", **kwargs) -> list:
    """Share of the completion's non-space characters that are among `letters` (case-insensitive); 0.0 if empty.

    The reward of the bundled tiny_vowels task: a random policy earns about a third of it by chance, and GRPO
    teaches even the random tiny model to earn more within a minute on CPU.
    """
    wanted = set(letters.lower())
    shares = []
    for c in completions:
        chars = [ch for ch in completion_text(c).lower() if not ch.isspace()]
        shares.append(sum(ch in wanted for ch in chars) / len(chars) if chars else 0.0)
    return shares


BUILTIN = {
    "accuracy": answer_accuracy,
    "format": think_answer_format,
    "length_target": length_target,
    "length_penalty": length_penalty,
    "letter_share": letter_share,
    "exact_match": exact_match,  # FAI-RL's math rewards (fai_rl/rewards/tagged.py)
    "answer_is_digit": answer_is_digit,
    "structured_xml": structured_xml,
}
