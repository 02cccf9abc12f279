"""Small datasets shipped with fai-rl (`builtin:<name>`), and the generators that write them."""
from __future__ import annotations

import json
from pathlib import Path


def write_splits(name: str, rows: list, n_test: int) -> None:
    """Write the first n_test rows to <name>/test.jsonl and the rest to <name>/train.jsonl."""
    out = Path(__file__).parent / name
    out.mkdir(exist_ok=True)
    for split, part in (("test", rows[:n_test]), ("train", rows[n_test:])):
        with open(out / f"{split}.jsonl", "w") as f:
            for row in part:
                f.write(json.dumps(row) + "\n")
        print(f"{name}/{split}: {len(part)} rows")
