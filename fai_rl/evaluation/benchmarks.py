"""Score answers as FAI-RL's evaluation scores them: MMLU asks for `{"answer": "<letter>"}`, reads the letter as FAI-RL
does (its JSON, then "the answer is X"-style phrasings, then the first character) and compares it with the answer
index; GSM8K compares the final number with the one after `####` (math-verify, as the rewards)."""
from __future__ import annotations

import re

from fai_rl.rewards.answers import answers_match, final_answer, reference_answer

LETTERS = "ABCDEFGHIJ"
_L = f"([{LETTERS}])"
_NAME = r"(?:ANSWER|OPTION|CHOICE)"
# FAI-RL's MMLU reading (its evaluations/datasets/mmlu.py), tried in this order on the upper-cased response, the
# first match anywhere wins: its JSON answer, then the phrasings a model writes instead, then the first character
MMLU_PATTERNS = [re.compile(p) for p in (
    r'"ANSWER"\s*:\s*"' + _L + '"',
    r"(?:THE\s+)?(?:BEST|FINAL|CORRECT)?\s*" + _NAME + r"\s+IS\s+" + _L,
    r"ANSWER:\s*" + _L,
    _NAME + r"\s+" + _L + r"\s+IS\s+(?:THE\s+)?(?:BEST|FINAL)?\s*" + _NAME,
    r"(?:THE\s+)?" + _NAME + r"\s+IS\s+" + _NAME + r"\s+" + _L,
    r"(?:THE\s+)?(?:BEST|FINAL|CORRECT)?\s*" + _NAME + r"\s+(?:SHOULD|WOULD|MUST|COULD)\s+BE\s+" + _L,
    _NAME + r"\s+" + _L + r"\s+IS\s+(?:THE\s+)?CORRECT",
)]


def mmlu_letter(response) -> str | None:
    """The choice a response gives, read as FAI-RL reads it (MMLU_PATTERNS, then its first character); None when
    nothing reads as a choice letter."""
    text = str(response or "").upper()
    for pattern in MMLU_PATTERNS:
        found = pattern.search(text)
        if found:
            return found.group(1)
    first = text.strip()[:1]
    return first if first and first in LETTERS else None


def mmlu_truth(value) -> str:
    """MMLU's answer: an index (0 -> A) or already a letter."""
    text = str(value).strip()
    return LETTERS[int(text)] if text.isdigit() else text.upper()


def gsm8k_number(response) -> str | None:
    return final_answer(str(response or ""))


def score(task: str, response, truth) -> tuple:
    """(the answer read from the response or None, whether it is right) for one row."""
    if response is None:
        return None, False  # the request failed
    if task == "mmlu":
        letter = mmlu_letter(response)
        return letter, letter is not None and letter == mmlu_truth(truth)
    predicted = gsm8k_number(response)
    return predicted, answers_match(predicted, reference_answer(truth))
