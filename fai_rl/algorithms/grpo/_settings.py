"""GRPO's settings (algorithm.*): the shared group-sampling ones (fai_rl/algorithms/_sampling/settings.py) and its
loss's own, with their cross-field rules, checked before any model loads. Light: no torch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fai_rl.algorithms._sampling.settings import SampledSettings, check_sampled
from fai_rl.config.schema import AlgorithmConfig, redefault, setting
from fai_rl.errors import ConfigError

LossType = Literal["grpo", "dapo", "dr_grpo", "bnpo", "cispo", "sapo", "luspo", "vespo"]


@dataclass
class Settings(SampledSettings):
    name: str = redefault(AlgorithmConfig, "name", "grpo")
    trainer: str = redefault(AlgorithmConfig, "trainer", "grpo")
    loss_type: LossType = setting("dapo", "TRL's loss names: grpo, dapo, dr_grpo, bnpo, cispo, sapo, luspo "
                                          "(needs importance_sampling_level=sequence), vespo.")
    importance_sampling_level: Literal["token", "sequence"] = setting(
        "token", "token: one importance ratio per token (GRPO); sequence: one per completion (GSPO, "
                 "arXiv:2507.18071).")
    scale_rewards: Literal["group", "batch", "none"] = setting("group", "Divide advantages by the std of the group, "
                                                                        "of the batch, or not at all (none).")


def check(run) -> None:
    """The shared rules, then GRPO's own."""
    check_sampled(run)
    a = run.algorithm
    if a.loss_type == "luspo" and a.importance_sampling_level != "sequence":
        raise ConfigError("'algorithm.loss_type' luspo needs algorithm.importance_sampling_level=sequence")
