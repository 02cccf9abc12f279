"""Score answers as FAI-RL's evaluation scores them: MMLU asks for `{"answer": "<letter>"}`, reads the letter as FAI-RL
does (its JSON, then "the answer is X"-style phrasings, then the first character) and compares it with the answer
index; GSM8K takes the response's last number as FAI-RL's scorer does (its evaluations/eval.py) and compares it as text
with what follows `####` in the ground truth."""
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


# FAI-RL's GSM8K number: the last run of 2+ of `$ 0-9 . ,` or of 1+ digits, either after an optional minus sign
GSM8K_NUMBER = re.compile(r"-?(?:[$0-9.,]{2,}|[0-9]+)")


def gsm8k_number(response) -> str | None:
    """The answer FAI-RL reads from a GSM8K response: its last GSM8K_NUMBER without `,` and `$` and then without one
    trailing `.` ('The answer is $1,234.' -> '1234'; '\\boxed{42}' -> '42'; '3/4' -> '4'); None when it has none."""
    found = GSM8K_NUMBER.findall(str(response or ""))
    if not found:
        return None
    number = found[-1].replace(",", "").replace("$", "")
    return number[:-1] if number.endswith(".") else number


def gsm8k_truth(value) -> str:
    """The text after the last `####` of GSM8K's answer, as it is (FAI-RL removes no separators here)."""
    return str(value).split("####")[-1].strip()


def score(task: str, response, truth, gsm8k_match: str = "exact") -> tuple:
    """(the answer read from the response or None, whether it is right) for one row. GSM8K: `exact` reads and
    compares as FAI-RL's scorer; `math_verify` reads the final answer and compares values as the training rewards do
    ('$5.00' = '5', '0.5' = '1/2')."""
    if response is None:
        return None, False  # the request failed
    if task == "mmlu":
        letter = mmlu_letter(response)
        return letter, letter is not None and letter == mmlu_truth(truth)
    if gsm8k_match == "math_verify":
        predicted = final_answer(str(response))
        return predicted, predicted is not None and answers_match(predicted, reference_answer(truth))
    predicted = gsm8k_number(response)
    # FAI-RL compares texts, case and outer spaces aside: '5.00' is not '5', '0.5' is not '1/2'
    return predicted, predicted is not None and predicted.strip().lower() == gsm8k_truth(truth).lower()
