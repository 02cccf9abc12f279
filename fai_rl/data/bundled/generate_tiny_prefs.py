"""Regenerate the bundled tiny_prefs preference dataset (deterministic): python -m fai_rl.data.bundled.generate_tiny_prefs

Short factual questions; `chosen` is the right answer, `rejected` a wrong answer of the same kind. Each fact is
asked with several phrasings, so a held-out phrasing of a fact seen in training tests what the model learnt.
"""
from __future__ import annotations

import random

from fai_rl.data.bundled import write_splits

OPPOSITES = [("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("day", "night"),
             ("wet", "dry"), ("light", "dark"), ("open", "closed"), ("happy", "sad"), ("full", "empty"),
             ("hard", "soft"), ("early", "late"), ("loud", "quiet"), ("rich", "poor"), ("strong", "weak"),
             ("tall", "short"), ("first", "last"), ("left", "right"), ("win", "lose"), ("push", "pull")]
SOUNDS = [("cow", "moo"), ("dog", "woof"), ("cat", "meow"), ("duck", "quack"), ("sheep", "baa"),
          ("pig", "oink"), ("lion", "roar"), ("owl", "hoot"), ("horse", "neigh"), ("bee", "buzz"),
          ("frog", "croak"), ("snake", "hiss")]
COLORS = [("the sky", "blue"), ("grass", "green"), ("snow", "white"), ("coal", "black"), ("a banana", "yellow"),
          ("blood", "red"), ("a carrot", "orange"), ("a plum", "purple"), ("milk", "white"), ("a lemon", "yellow"),
          ("a leaf", "green"), ("a tomato", "red")]
CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Germany", "Berlin"),
            ("Egypt", "Cairo"), ("Canada", "Ottawa"), ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Norway", "Oslo"),
            ("Greece", "Athens"), ("Cuba", "Havana")]

TEMPLATES = {
    "opposite": ["What is the opposite of {k}?", "Give the opposite of {k}.", "The opposite of {k} is what?",
                 "Name the opposite of the word {k}.", "Opposite of {k}?"],
    "sound": ["What sound does a {k} make?", "Which sound does a {k} make?", "A {k} says what?",
              "What does a {k} say?", "Name the sound of a {k}."],
    "color": ["What color is {k}?", "Which color is {k}?", "Name the color of {k}.", "{k} has what color?",
              "Tell me the color of {k}."],
    "capital": ["What is the capital of {k}?", "Name the capital of {k}.", "Which city is the capital of {k}?",
                "The capital of {k} is which city?", "Capital of {k}?"],
}
FACTS = {"opposite": OPPOSITES, "sound": SOUNDS, "color": COLORS, "capital": CAPITALS}


def make_pairs(seed: int = 0) -> list:
    rng = random.Random(seed)
    pairs = []
    for kind, facts in FACTS.items():
        answers = sorted({a for _, a in facts})
        for key, answer in facts:
            for template in TEMPLATES[kind]:
                wrong = rng.choice([a for a in answers if a != answer])
                prompt = template.format(k=key)
                prompt = prompt[0].upper() + prompt[1:]
                pairs.append({"prompt": f"Q: {prompt}\nA:", "chosen": f" {answer}.", "rejected": f" {wrong}."})
    rng.shuffle(pairs)
    return pairs


def main() -> None:
    pairs = make_pairs()
    write_splits("tiny_prefs", pairs, n_test=len(pairs) // 7)


if __name__ == "__main__":
    main()
