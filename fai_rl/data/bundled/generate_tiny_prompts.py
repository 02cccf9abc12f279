"""Regenerate the bundled prompt datasets (deterministic): python -m fai_rl.data.bundled.generate_tiny_prompts

tiny_math: arithmetic word problems in GSM8K form (`question`, `answer` ending in `#### <number>`).
tiny_vowels: the learnable task of the GRPO/GSPO default — short requests for vowel-rich text, scored by the
`letter_share` reward (share of the completion's characters that are vowels). A random tiny policy earns about a
third of the reward by chance and learns to earn more within a minute on CPU.
"""
from __future__ import annotations

import random

from fai_rl.data.bundled import write_splits

NAMES = ["Ana", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ivy", "Jon", "Kai", "Lea", "Mia", "Noah"]
THINGS = ["apple", "book", "coin", "marble", "pencil", "shell", "sticker", "stone", "card", "egg"]
WORDS = ["aloe", "audio", "queue", "eerie", "ouija", "oboe", "area", "idea", "iou", "aeon", "euouae", "aria",
         "ease", "eau", "oui", "ai", "ooze", "aura", "eye", "ago"]
VOWEL_REQUESTS = ["Write a word full of vowels like {w}:", "Say something soft, like {w}:",
                  "Sing vowels, as in {w}:", "Reply with open sounds such as {w}:", "Vowels only, like {w}:",
                  "Echo the vowels of {w}:", "Make a sound like {w}:", "Hum like {w}:"]


def word_problem(rng: random.Random) -> dict:
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    a, b = rng.randint(2, 20), rng.randint(2, 9)
    kind = rng.choice(["add", "sub", "mul", "div"])
    if kind == "add":
        q = f"{name} has {a} {thing}s and gets {b} more. How many {thing}s does {name} have now?"
        work, result = f"{a} + {b} = {a + b}", a + b
    elif kind == "sub":
        a += b
        q = f"{name} had {a} {thing}s and gave away {b}. How many {thing}s are left?"
        work, result = f"{a} - {b} = {a - b}", a - b
    elif kind == "mul":
        q = f"There are {b} boxes with {a} {thing}s in each box. How many {thing}s are there?"
        work, result = f"{b} * {a} = {a * b}", a * b
    else:
        q = f"{name} shares {a * b} {thing}s equally among {b} friends. How many {thing}s does each friend get?"
        work, result = f"{a * b} / {b} = {a}", a
    return {"question": q, "answer": f"{work}.\n#### {result}"}


def tiny_math(seed: int = 0, n: int = 240) -> list:
    rng = random.Random(seed)
    return [word_problem(rng) for _ in range(n)]


def tiny_vowels() -> list:
    return [{"prompt": request.format(w=word)} for request in VOWEL_REQUESTS for word in WORDS]


def main() -> None:
    for name, rows, n_test in (("tiny_math", tiny_math(), 40), ("tiny_vowels", tiny_vowels(), 32)):
        random.Random(0).shuffle(rows)
        write_splits(name, rows, n_test)


if __name__ == "__main__":
    main()
