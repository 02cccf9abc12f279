"""Evaluate the untrained policy once train() has prepared the model.

Transformers cannot evaluate a DeepSpeed model before train() (ZeRO-2 refuses, and after a ZeRO-3 inference
engine train() never builds its training engine), so the "before" evaluation runs at on_train_begin, when the
model is already wrapped (DDP, DeepSpeed or none); the weights are still the initial ones.
"""
from __future__ import annotations

import time

from transformers import TrainerCallback


class EvalBefore(TrainerCallback):
    def __init__(self, trainer, evaluate):
        self.trainer, self.evaluate = trainer, evaluate
        self.metrics: dict = {}
        self.seconds = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        started = time.time()
        self.metrics = self.evaluate(self.trainer)
        self.seconds = time.time() - started
