"""Find the final answer in a text (GSM8K `#### 42`, MATH `\\boxed{}`, `<answer>` tags, or the last number)
and decide whether two answers agree (math-verify, loaded on first use: this module is read while validating)."""
from __future__ import annotations

import logging
import re
import threading
from fractions import Fraction
from typing import Optional, Union

ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
HASHES = re.compile(r"####\s*([^\n]*)")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
FRAC = re.compile(r"\\d?frac\{([^{}]*)\}\{([^{}]*)\}")
LATEX_NOISE = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ |\$|\\text\{[^{}]*\}|\\mathrm\{[^{}]*\}|\^\{?\\circ\}?|%")


def completion_text(completion) -> str:
    """A completion is a string, or (chat prompts) a list of messages whose contents are joined."""
    if isinstance(completion, str):
        return completion
    return "".join(str(message.get("content", "")) for message in completion)


def last_boxed(text: str) -> Optional[str]:
    """Content of the last \\boxed{...} (or \\fbox{...}), braces balanced."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    i = text.index("{", start) + 1
    depth, begin = 1, i
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[begin:i - 1] if depth == 0 else None


def final_answer(text: str) -> Optional[str]:
    """The answer a text gives: in <answer> tags, else \\boxed{}, else after ####, else its last number."""
    tagged = ANSWER_TAG.findall(text)
    if tagged:
        return tagged[-1].strip()
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed.strip()
    hashes = HASHES.findall(text)
    if hashes:
        return hashes[-1].strip()
    numbers = NUMBER.findall(text)
    return numbers[-1] if numbers else None


def as_number(answer: str) -> Optional[Fraction]:
    """'1,234', '-3.5', '3/4', '\\frac{3}{4}', '$42.' -> a Fraction; None when it is not a plain number."""
    cleaned = FRAC.sub(r"\1/\2", LATEX_NOISE.sub("", answer)).strip().rstrip(".").replace(",", "").replace(" ", "")
    try:
        return Fraction(cleaned)
    except (ValueError, ZeroDivisionError):
        return None


def normalise(answer: str) -> Union[Fraction, str]:
    """A number when the answer is one (or ends in one, e.g. 'x = 5'), else the answer without spaces or LaTeX noise."""
    number = as_number(answer)
    if number is not None:
        return number
    numbers = NUMBER.findall(answer)
    if numbers and not re.search(r"[a-zA-Z\\]", answer.replace(" ", "").split("=")[-1]):
        return as_number(numbers[-1]) or numbers[-1]
    return LATEX_NOISE.sub("", answer).replace(" ", "").rstrip(".").lower()


def answers_match(predicted: Optional[str], reference: Optional[str]) -> bool:
    """The same answer: equal as mathematics by math-verify (LaTeX, fractions, sets, units; the library TRL's own
    accuracy reward uses), else, for answers it cannot read, equal as normalised text."""
    if predicted is None or reference is None:
        return False
    from math_verify import parse, verify  # ~0.4 s with sympy: loaded when a reward first scores, not at validation

    logging.getLogger("math_verify").setLevel(logging.ERROR)  # not a warning per call when its timeouts are off

    # math-verify's own timeouts use SIGALRM, which only the main thread has; elsewhere (a reward with timeout_s
    # runs in a thread) the reward's guard times it instead
    limit = 5 if threading.current_thread() is threading.main_thread() else None
    gold, guess = parse(reference, parsing_timeout=limit), parse(predicted, parsing_timeout=limit)
    if gold and guess:
        return bool(verify(gold, guess, timeout_seconds=limit))
    return normalise(predicted) == normalise(reference)


def reference_answer(answer: str) -> str:
    """A reference answer as an exact-match reward compares it: GSM8K's text after the last `####` (the whole text
    when there is none), stripped, thousands separators removed ('#### 1,234' -> '1234')."""
    return str(answer).split("####")[-1].strip().replace(",", "")
