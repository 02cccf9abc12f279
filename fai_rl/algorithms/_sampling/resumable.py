"""A prompt order that a resumed run reproduces, for TRL's trainers that sample groups (GRPOTrainer, RLOOTrainer).

TRL's RepeatSampler draws every epoch's prompt order from one generator that advances with each pass, and has no
set_epoch. The HF Trainer resumes inside epoch e without replaying the passes before it, so a run resumed after
its first epoch walked epoch 0's order again: prompts replayed, others skipped, and different weights than the
run that was never stopped (measured with `make faults`: max |weight difference| 0.004-0.012 on the tiny model).
Here each pass is seeded with (seed, epoch), announced before every pass by `_run_epoch`: the Trainer's own
set_epoch calls do not reach the sampler when a run with several processes resumes mid-epoch (accelerate's
SkipBatchSampler around its BatchSamplerShard hides it), which left that case in epoch 0's order.

Written against trl 1.16.0 and transformers 5.24: the mixin overrides GRPOTrainer's and RLOOTrainer's
_get_train_sampler and Trainer._run_epoch (neither is public API).
"""
from __future__ import annotations

from trl.trainer.utils import RepeatSampler


class EpochSeededRepeatSampler(RepeatSampler):
    """RepeatSampler whose order in epoch e depends only on (seed, e); epoch 0 keeps TRL's order."""

    def set_epoch(self, epoch: int) -> None:
        if self.shuffle and self.seed is not None:
            self.generator.manual_seed(self.seed if epoch == 0 else self.seed * 1_000_003 + epoch)


def announce_epoch(loader, epoch: int) -> None:
    """Tell the EpochSeededRepeatSampler below a data loader's batch samplers, however accelerate nested them
    (BatchSamplerShard, BatchSampler), which epoch its next pass is; a loader without one is left alone."""
    node = getattr(loader, "batch_sampler", None)
    while node is not None:
        if isinstance(getattr(node, "sampler", None), EpochSeededRepeatSampler):
            node.sampler.set_epoch(epoch)
            return
        node = getattr(node, "batch_sampler", None)


class EpochSeededSampling:
    """Mixin before GRPOTrainer or RLOOTrainer: each epoch's prompt order depends only on (seed, epoch)."""

    def _get_train_sampler(self, dataset=None):
        sampler = super()._get_train_sampler(dataset)
        if type(sampler) is not RepeatSampler:  # an iterable dataset, or a TRL that changed its sampler
            return sampler
        return EpochSeededRepeatSampler(
            data_source=sampler.data_source, mini_repeat_count=sampler.mini_repeat_count,
            batch_size=sampler.batch_size, repeat_count=sampler.repeat_count, shuffle=sampler.shuffle,
            seed=sampler.seed)

    def _run_epoch(self, *, epoch, train_dataloader, **kwargs):
        announce_epoch(train_dataloader, epoch)  # before a resume's skip_first_batches wraps the loader
        return super()._run_epoch(epoch=epoch, train_dataloader=train_dataloader, **kwargs)
