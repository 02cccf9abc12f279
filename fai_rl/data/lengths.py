"""Does data.max_length fit the data? The share of the first training rows longer than it, measured in tokens."""
from __future__ import annotations


def text_of(value) -> str:
    """A plain string, or the contents of chat messages joined; '' for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(m["content"] for m in value if isinstance(m, dict) and isinstance(m.get("content"), str))
    return ""


def row_tokens(row: dict, tokenizer) -> int:
    """Tokens of the longest sequence a trainer builds from a row: the prompt (if any) plus its longest other text
    (DPO: prompt + the longer of chosen and rejected; SFT: prompt + completion, or the conversation or text)."""
    count = lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0  # noqa: E731
    others = [count(text_of(value)) for key, value in row.items() if key != "prompt"]
    return count(text_of(row.get("prompt"))) + max(others, default=0)


def truncation_warning(dataset, tokenizer, max_length: int, rows: int = 64):
    """One line when most of the first `rows` training rows are longer than data.max_length tokens (they would be
    cut), else None."""
    sample = dataset.select(range(min(rows, len(dataset))))
    lengths = [row_tokens(row, tokenizer) for row in sample]
    cut = sum(n > max_length for n in lengths)
    if not lengths or cut * 2 <= len(lengths):
        return None
    return (f"warning: data.max_length={max_length} is shorter than {cut} of the first {len(lengths)} training rows "
            f"(longest {max(lengths)} tokens): they will be cut; raise data.max_length (the tiny demo's short "
            "lengths are for its bundled data only)")
