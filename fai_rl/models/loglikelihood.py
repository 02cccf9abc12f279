"""Log-likelihood of continuations under a loaded causal LM (multiple-choice scoring: fai-rl-eval's MMLU with
mmlu_protocol: loglikelihood). Batched, without gradients, on the model's device."""
from __future__ import annotations

import torch


def split_tokens(tokenizer, context: str, continuation: str) -> tuple:
    """(context ids, continuation ids) as lm-evaluation-harness splits them: the whole text tokenized once, the
    continuation being what follows the context's own tokens (so a merge across the boundary stays whole)."""
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    return whole[:len(context_ids)], whole[len(context_ids):]


def batch_logprobs(model, pad_id: int, sequences: list) -> list:
    """Sum of log p(continuation | context) for each (context ids, continuation ids), in one forward pass: left
    padded (every continuation ends at the last position) with position ids that skip the padding."""
    longest = max(len(c) + len(x) for c, x in sequences)
    tail = max(len(x) for _, x in sequences)
    ids = torch.full((len(sequences), longest), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, (context, continuation) in enumerate(sequences):
        tokens = context + continuation
        ids[row, longest - len(tokens):] = torch.tensor(tokens)
        mask[row, longest - len(tokens):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    device = model.device
    inputs = dict(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device))
    with torch.no_grad():
        try:  # only the last positions' logits: a (batch, length, vocabulary) tensor would be large
            logits = model(**inputs, logits_to_keep=tail + 1).logits
        except TypeError:  # a remote-code model without logits_to_keep
            logits = model(**inputs).logits
    logits = logits[:, -tail - 1:-1].float()
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, -tail:].unsqueeze(-1).to(device)).squeeze(-1)
    wanted = torch.arange(tail).expand(len(sequences), tail) >= torch.tensor(
        [tail - len(x) for _, x in sequences]).unsqueeze(-1)
    return (logprobs.cpu() * wanted).sum(-1).tolist()


def continuation_logprobs(model, tokenizer, pairs: list, batch_size: int) -> list:
    """log p(continuation | context) summed over the continuation's tokens, for each (context, continuation) text
    pair, `batch_size` pairs a forward pass."""
    sequences = [split_tokens(tokenizer, context, continuation) for context, continuation in pairs]
    empty = next((pairs[i] for i, (_, x) in enumerate(sequences) if not x), None)
    if empty is not None:
        raise ValueError(f"the continuation {empty[1]!r} adds no token after its context")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    scores = []
    for start in range(0, len(sequences), batch_size):
        scores += batch_logprobs(model, pad_id, sequences[start:start + batch_size])
    return scores
