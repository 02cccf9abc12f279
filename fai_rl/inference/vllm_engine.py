"""A local model on vLLM's offline engine (`engine: vllm`; `pip install 'fai-rl[vllm]'`, CUDA): the same prompts,
sampling settings and failed-row handling as the transformers engine; vLLM schedules the batches itself, and the
answers are recorded every CHUNK rows, so an interrupted run keeps what it has."""
from __future__ import annotations

from fai_rl.inference.local_engine import chat_text, model_folder, record_failure, tokenizer_folder

CHUNK = 256  # rows handed to vLLM at once: large enough to keep it busy, small enough to lose little when stopped


class VllmEngine:
    def __init__(self, reference: str, recipe):
        from vllm import LLM, SamplingParams

        path = model_folder(reference)
        self.llm = LLM(model=path, tokenizer=tokenizer_folder(path), seed=0)
        self.tokenizer = self.llm.get_tokenizer()
        self.sampling = SamplingParams(temperature=recipe.temperature if recipe.do_sample else 0.0,
                                       top_p=recipe.top_p, max_tokens=recipe.max_new_tokens)

    def answer(self, todo: list, record) -> None:
        """todo: [(row, chat)]; record(row, response, error) after each chunk."""
        for start in range(0, len(todo), CHUNK):
            batch = todo[start:start + CHUNK]
            try:
                outputs = self.llm.generate([chat_text(self.tokenizer, chat) for _, chat in batch], self.sampling,
                                            use_tqdm=False)
            except (RuntimeError, ValueError) as err:
                record_failure(batch, err, record)
                continue
            for (row, _), output in zip(batch, outputs):
                record(row, output.outputs[0].text, None)
