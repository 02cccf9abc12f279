"""Score answers as FAI-RL's evaluation scores them: MMLU asks for `{"answer": "<letter>"}` and compares the letter
with the answer index; GSM8K compares the final number with the one after `####` (math-verify, as the rewards)."""
from __future__ import annotations

import json
import re

from fai_rl.rewards.answers import answers_match, final_answer, reference_answer

LETTERS = "ABCDEFGHIJ"
JSON_OBJECT = re.compile(r"\{[^{}]*\}")


def mmlu_letter(response) -> str | None:
    """The letter of the last JSON object in the response with an "answer" key; None when there is none."""
    for text in reversed(JSON_OBJECT.findall(str(response or ""))):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        answer = str(value.get("answer", "")).strip().strip("().").upper() if isinstance(value, dict) else ""
        if len(answer) == 1 and answer in LETTERS:
            return answer
    return None


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
