"""Batched generation from a loaded causal LM (fai-rl-generate, GRPO's saved-model evaluation), and from a
vision-language model through its processor (inference recipes with image_columns)."""
from __future__ import annotations

import torch
from tqdm.auto import tqdm


def render(prompt, tokenizer, chat: bool) -> str:
    """A prompt as the text the model continues: chat messages through its chat template; a plain string as it is,
    or wrapped as a user message when `chat`."""
    if isinstance(prompt, list):
        return tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    if chat:
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
    return str(prompt)


def sampling_kwargs(temperature: float, top_p: float) -> dict:
    return dict(do_sample=True, temperature=temperature, top_p=top_p) if temperature > 0 else dict(do_sample=False)


def generate(model, tokenizer, texts: list, max_new_tokens: int, batch_size: int, temperature: float,
             progress: bool = True, after_batch=None, top_p: float = 1.0) -> list:
    """Completions of `texts`, `batch_size` at a time (temperature 0: greedy; else sampled, nucleus `top_p`);
    `after_batch()`, when given, is called after each batch."""
    tokenizer.padding_side = "left"
    outputs = []
    sampling = sampling_kwargs(temperature, top_p)
    for start in tqdm(range(0, len(texts), batch_size), disable=not progress, desc="generating"):
        batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(model.device)
        with torch.no_grad():
            ids = model.generate(**batch, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                                 **sampling)
        outputs += tokenizer.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        if after_batch is not None:
            after_batch()
    return outputs


def generate_with_images(model, processor, chats: list, images: list, max_new_tokens: int, temperature: float,
                         top_p: float = 1.0) -> list:
    """Completions of one batch of chats, chat i with the PIL images images[i] placed as at training (TRL's
    prepare_multimodal_messages: before the first user turn's text), encoded by the processor, left-padded."""
    from trl.data_utils import prepare_multimodal_messages

    texts = [processor.apply_chat_template(prepare_multimodal_messages(chat, images=list(found)), tokenize=False,
                                           add_generation_prompt=True) for chat, found in zip(chats, images)]
    tok = getattr(processor, "tokenizer", processor)
    batch = processor(images=images if any(images) else None, text=texts, padding=True, padding_side="left",
                      return_tensors="pt", add_special_tokens=False).to(model.device, dtype=model.dtype)
    with torch.no_grad():
        ids = model.generate(**batch, max_new_tokens=max_new_tokens, pad_token_id=tok.pad_token_id,
                             **sampling_kwargs(temperature, top_p))
    return tok.batch_decode(ids[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
