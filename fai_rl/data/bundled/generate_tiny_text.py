"""Regenerate the bundled tiny_text corpus for continued pretraining (deterministic):
python -m fai_rl.data.bundled.generate_tiny_text

Raw `text` rows: short paragraphs of plain statements about the facts of tiny_prefs (opposites, animal sounds,
colours, capitals), each paragraph a random mix. The held-out paragraphs combine the same facts differently, so
their perplexity falls as the model learns the statements.
"""
from __future__ import annotations

import random

from fai_rl.data.bundled import write_splits
from fai_rl.data.bundled.generate_tiny_prefs import CAPITALS, COLORS, OPPOSITES, SOUNDS

STATEMENTS = {
    "opposite": (OPPOSITES, ["The opposite of {k} is {v}.", "{k} is the opposite of {v}."]),
    "sound": (SOUNDS, ["A {k} says {v}.", "The sound of a {k} is {v}."]),
    "color": (COLORS, ["The color of {k} is {v}.", "{k} is {v}."]),
    "capital": (CAPITALS, ["The capital of {k} is {v}.", "{v} is the capital of {k}."]),
}


def sentences() -> list:
    out = []
    for facts, templates in STATEMENTS.values():
        for key, value in facts:
            for template in templates:
                text = template.format(k=key, v=value)
                out.append(text[0].upper() + text[1:])
    return out


def make_paragraphs(n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    pool = sentences()
    return [{"text": " ".join(rng.sample(pool, rng.randint(3, 6)))} for _ in range(n)]


def main() -> None:
    write_splits("tiny_text", make_paragraphs(360), n_test=40)


if __name__ == "__main__":
    main()
