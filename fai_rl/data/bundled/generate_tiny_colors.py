"""Regenerate the bundled tiny_colors image task for vision-language SFT (deterministic):
python -m fai_rl.data.bundled.generate_tiny_colors

Rows: `image` (PNG bytes: a 24x24 picture, a square of one of six colours, its shade, size and place random, on a
light background), `question` and the colour's name as `response`. Only the picture tells the answer, so the
held-out loss falls below the text-only guess as a model learns to look.
"""
from __future__ import annotations

import io
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

COLORS = {"red": (220, 30, 30), "green": (30, 170, 40), "blue": (30, 60, 220), "yellow": (235, 215, 30),
          "black": (15, 15, 15), "purple": (140, 40, 170)}
QUESTIONS = ["What colour is the square?", "Which colour is the shape?", "Name the colour of the square."]
SIDE, N_TRAIN, N_TEST = 24, 360, 60


def picture(rng: random.Random, rgb: tuple) -> bytes:
    shade = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in rgb)
    background = tuple(rng.randint(225, 255) for _ in range(3))
    image = Image.new("RGB", (SIDE, SIDE), background)
    size = rng.randint(10, 20)
    x, y = rng.randint(0, SIDE - size), rng.randint(0, SIDE - size)
    ImageDraw.Draw(image).rectangle([x, y, x + size - 1, y + size - 1], fill=shade)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def rows(rng: random.Random, n: int) -> list:
    names = list(COLORS)
    return [{"image": picture(rng, COLORS[name]), "question": rng.choice(QUESTIONS), "response": name}
            for name in (names[i % len(names)] for i in range(n))]


def main() -> None:
    rng = random.Random(0)
    out = Path(__file__).parent / "tiny_colors"
    out.mkdir(exist_ok=True)
    for split, n in (("test", N_TEST), ("train", N_TRAIN)):
        part = rows(rng, n)
        rng.shuffle(part)
        pq.write_table(pa.Table.from_pylist(part), out / f"{split}.parquet")
        print(f"tiny_colors/{split}: {len(part)} rows, {(out / f'{split}.parquet').stat().st_size} bytes")


if __name__ == "__main__":
    main()
