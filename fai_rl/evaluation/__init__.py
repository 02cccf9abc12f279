"""Evaluations during training, as Trainer callbacks: before training (the baseline), task metrics on prompts with
answers (exact-answer accuracy, pass@k), the best checkpoint's metric, and the reward-hacking alarm. Heavy: torch
and transformers."""
