"""Task metrics of prompt data with reference answers: exact-answer accuracy of greedy completions and pass@k over
k sampled ones. fai-rl-eval reports them for a saved model; TaskMetrics adds them to every evaluation of a GRPO/GSPO
run (before, every training.eval_steps, after), logged like the other eval metrics."""
from __future__ import annotations

import functools

import torch
from transformers import ProgressCallback, TrainerCallback

from fai_rl.models.generation import generate, render
from fai_rl.rewards.builtin import answer_accuracy

ACCURACY = "eval_exact_answer_accuracy"


def pass_at_k_name(k: int) -> str:
    return f"eval_pass_at_{k}"  # no "@": MLflow refuses it in metric names


def as_completions(prompts: list, texts: list) -> list:
    """Generated texts in the form TRL hands to rewards: a message list for chat prompts, else the text."""
    return [[{"role": "assistant", "content": t}] if isinstance(p, list) else t for p, t in zip(prompts, texts)]


def complete(model, tokenizer, prompts: list, max_new_tokens: int, batch_size: int, temperature: float = 0.0,
             samples: int = 1, progress: bool = False, after_batch=None) -> list:
    """`samples` generated texts per prompt (prompt-major); temperature 0: greedy."""
    texts = [render(p, tokenizer, chat=False) for p in prompts for _ in range(samples)]
    return generate(model, tokenizer, texts, max_new_tokens, batch_size, temperature=temperature, progress=progress,
                    after_batch=after_batch)


def answer_metrics(model, tokenizer, prompts: list, answers: list, greedy_texts: list, pass_k: int,
                   max_new_tokens: int, batch_size: int, temperature: float, after_batch=None) -> dict:
    """eval_exact_answer_accuracy of the greedy texts, and eval_pass_at_<k>: the share of prompts with a right answer
    among k completions sampled at `temperature` (k = n samples: the unbiased estimator is this plain share)."""
    hits = answer_accuracy(as_completions(prompts, greedy_texts), answers)
    metrics = {ACCURACY: sum(hits) / len(hits)}
    if pass_k:
        sampled = complete(model, tokenizer, prompts, max_new_tokens, batch_size, temperature, samples=pass_k,
                           after_batch=after_batch)
        repeated = [p for p in prompts for _ in range(pass_k)]
        right = answer_accuracy(as_completions(repeated, sampled), [a for a in answers for _ in range(pass_k)])
        solved = [max(right[i:i + pass_k]) for i in range(0, len(right), pass_k)]
        metrics[pass_at_k_name(pass_k)] = sum(solved) / len(solved)
    return metrics


class TaskMetrics(TrainerCallback):
    """At every evaluation: the task metrics of the first evaluation.task_rows eval prompts, added to the
    evaluation's metrics (so training.metric_for_best_model and the alarm can name them) and logged."""

    def __init__(self, trainer, run, eval_ds, max_new_tokens: int, temperature: float):
        rows = eval_ds if run.evaluation.task_rows is None else eval_ds.select(
            range(min(run.evaluation.task_rows, len(eval_ds))))
        self.trainer, self.prompts, self.answers = trainer, list(rows["prompt"]), list(rows["answer"])
        self.pass_k, self.temperature, self.max_new_tokens = run.evaluation.pass_k, temperature, max_new_tokens
        self.batch_size = run.training.per_device_eval_batch_size

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        model = self.trainer.accelerator.unwrap_model(self.trainer.model)
        model.eval()  # the next training step sets train mode again
        # pass@k samples from a seed of its own: every rank draws the same (they agree on the best checkpoint and the
        # alarm), and training draws what it would have drawn without these metrics
        with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
            torch.manual_seed(args.seed + state.global_step)
            tick = functools.partial(self.progress, args, state, control)
            greedy = complete(model, self.trainer.processing_class, self.prompts, self.max_new_tokens,
                              self.batch_size, after_batch=tick)
            task = answer_metrics(model, self.trainer.processing_class, self.prompts, self.answers, greedy,
                                  self.pass_k, self.max_new_tokens, self.batch_size, self.temperature, tick)
        metrics.update(task)
        self.trainer.log(dict(task))  # metrics.jsonl, the curves and every tracker, at this step

    def progress(self, args, state, control) -> None:
        """A generation batch is progress, as an evaluation batch is: the callbacks hear of it (the watchdog does
        not take a long task evaluation for a hang); progress bars are left out, they count the eval batches."""
        for callback in self.trainer.callback_handler.callbacks:
            if not isinstance(callback, ProgressCallback):
                callback.on_prediction_step(args, state, control)
