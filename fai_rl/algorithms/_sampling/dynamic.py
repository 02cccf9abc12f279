"""Dynamic sampling (DAPO, Yu et al., 2025, arXiv:2503.14476) on TRL's GRPOTrainer and RLOOTrainer: a group whose completions all
got the same reward has zero advantage everywhere, so it is dropped and the generation batch is refilled with groups
sampled for fresh prompts, for at most `max_rounds` extra generation rounds; then the batch trains on what it holds.

Written against trl 1.16.0. It overrides two methods the two trainers share that are not public API:
- `_generate_and_score_completions(inputs)`: this process's prompt rows (each prompt repeated num_generations
  times, a group's rows consecutive) -> a dict of per-completion tensors for this process (prompt_ids/prompt_mask
  left-padded, completion_ids/completion_mask/old_per_token_logps/... right-padded, advantages, RLOO's
  old_logps) plus, for GRPO, num_items_in_batch, the completion tokens of the whole batch over all processes;
- `_calculate_rewards(inputs, prompts, completions, completion_ids_list)` -> rewards per completion and reward
  function, gathered from every process in process order (kept here to see which groups are all equal).
Both are collective under DDP/ZeRO (they gather), so every process must call them the same number of times: the
number of extra rounds is agreed from the largest shortfall over the processes, and every process generates that
many fresh groups per round (a process that is already full discards its share).
"""
from __future__ import annotations

import logging
import random

import torch
import torch.nn.functional as F

log = logging.getLogger("fai_rl")

PROMPT_KEYS = {"prompt_ids": "pad", "prompt_mask": 0}  # left-padded; "pad": the tokenizer's pad token id
COMPLETION_KEYS = {"completion_ids": "pad", "completion_mask": 0, "old_per_token_logps": 0.0,
                   "ref_per_token_logps": 0.0, "sampling_per_token_logps": 0.0, "importance_sampling_ratio": 0.0,
                   "tool_mask": 1}  # right-padded
ROW_KEYS = {"advantages", "old_logps"}  # one value per completion (old_logps: RLOO's sequence log-probability)


def informative_groups(rewards: torch.Tensor, weights: torch.Tensor, group: int, tolerance: float) -> torch.Tensor:
    """One flag per group of `group` consecutive rows: do the weighted total rewards differ by more than tolerance?
    Rows every reward function left unscored (NaN) do not count, as in TRL's group baseline."""
    total = (rewards * weights.unsqueeze(0)).nansum(dim=1)
    total[torch.isnan(rewards).all(dim=1)] = torch.nan
    grouped = total.view(-1, group)
    highest = grouped.nan_to_num(nan=-torch.inf).max(dim=1).values
    lowest = grouped.nan_to_num(nan=torch.inf).min(dim=1).values
    return (highest - lowest) > tolerance  # a group with fewer than two scored rows: -inf or nan, not informative


def _pad_to(tensor: torch.Tensor, width: int, value, left: bool) -> torch.Tensor:
    missing = width - tensor.size(1)
    return F.pad(tensor, (missing, 0) if left else (0, missing), value=value) if missing else tensor


def merge_rows(parts: list, pad_token_id: int) -> dict:
    """Concatenate the chosen rows of several _generate_and_score_completions outputs, re-padding token tensors to
    the widest part; `parts` are (output, row index tensor). num_items_in_batch is left to the caller."""
    merged = {}
    for key in parts[0][0]:
        if key == "num_items_in_batch":
            continue
        pieces = [output[key].index_select(0, rows.to(output[key].device)) for output, rows in parts]
        padding = PROMPT_KEYS.get(key, COMPLETION_KEYS.get(key))
        if key in ROW_KEYS:
            merged[key] = torch.cat(pieces)
        elif padding is not None:
            width = max(p.size(1) for p in pieces)
            value = pad_token_id if padding == "pad" else padding
            merged[key] = torch.cat([_pad_to(p, width, value, left=key in PROMPT_KEYS) for p in pieces])
        else:
            raise RuntimeError(f"algorithm.dynamic_sampling cannot merge the trainer's '{key}' (written for trl "
                               f"1.16's text-only batches); set algorithm.dynamic_sampling.enabled=false")
    return merged


class DynamicSamplingMixin:
    """Mixin before GRPOTrainer or RLOOTrainer: training batches hold only groups with a reward spread, while
    max_rounds allows."""

    def __init__(self, *args, max_rounds: int, tolerance: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_rounds, self.tolerance = max_rounds, tolerance
        self._fresh_prompt_draws = random.Random(f"{self.args.seed}:{self.accelerator.process_index}")
        self._round_rewards = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        self._round_rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        return self._round_rewards

    def _generate_and_score_completions(self, inputs):
        if not self.model.training:  # eval batches are scored as they come
            return super()._generate_and_score_completions(inputs)
        size = self.num_generations
        wanted, kept, spare = len(inputs) // size, [], []
        rounds, batch = 0, inputs
        while True:
            output = super()._generate_and_score_completions(batch)
            flags = self._local_flags(len(batch))
            kept += [(output, g) for g in torch.nonzero(flags).flatten().tolist()]
            spare += [(output, g) for g in torch.nonzero(~flags).flatten().tolist()]
            shortfall = self._largest_over_processes(wanted - len(kept))
            if shortfall <= 0 or rounds == self.max_rounds:
                break
            rounds += 1
            batch = self._fresh_prompts(shortfall)
        chosen = kept[:wanted] + spare[:max(wanted - len(kept), 0)]
        self._record(len(kept) + len(spare), len(spare), min(len(kept), wanted), wanted, rounds)
        return self._assemble(chosen, size)

    def _local_flags(self, rows: int) -> torch.Tensor:
        """Informative flags of this process's groups, from the rewards gathered over all processes."""
        start = self.accelerator.process_index * rows
        local = self._round_rewards[start:start + rows]
        return informative_groups(local, self.reward_weights.to(local.device), self.num_generations,
                                  self.tolerance).cpu()

    def _largest_over_processes(self, value: int) -> int:
        return int(self.accelerator.gather(torch.tensor([value], device=self.accelerator.device)).max().item())

    def _fresh_prompts(self, groups: int) -> list:
        """`groups` prompts drawn at random from the training data (a draw sequence of its own per process), each
        repeated num_generations times, as the training dataloader delivers them."""
        dataset = self.train_dataset
        picks = [self._fresh_prompt_draws.randrange(len(dataset)) for _ in range(groups)]
        return [dict(row) for row in (dataset[i] for i in picks) for _ in range(self.num_generations)]

    def _assemble(self, chosen: list, size: int) -> dict:
        by_output: dict = {}
        for output, group in chosen:
            by_output.setdefault(id(output), (output, []))[1].extend(range(group * size, (group + 1) * size))
        parts = [(output, torch.tensor(rows)) for output, rows in by_output.values()]
        batch = merge_rows(parts, self.processing_class.pad_token_id)
        if "num_items_in_batch" not in chosen[0][0]:  # RLOO averages over completions: it counts no tokens
            return batch
        loss_mask = batch["completion_mask"] * batch.get("tool_mask", 1)
        batch["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        return batch

    def _record(self, generated: int, dropped: int, informative: int, wanted: int, rounds: int) -> None:
        """dynamic_sampling/* metrics over all processes, and a log line when the cap left equal-reward groups."""
        counts = torch.tensor([generated, dropped, informative, wanted], device=self.accelerator.device)
        generated, dropped, informative, wanted = self.accelerator.gather(counts).view(-1, 4).sum(dim=0).tolist()
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/dropped_share"].append(dropped / generated)
        metrics["dynamic_sampling/rounds"].append(float(rounds))
        metrics["dynamic_sampling/informative_share"].append(informative / wanted)
        if informative < wanted and self.accelerator.is_main_process:
            log.warning("dynamic sampling: after %d extra generation rounds (algorithm.dynamic_sampling.max_rounds) "
                        "%d of %d groups of the batch have rewards that differ; training on them with %d "
                        "equal-reward groups (zero advantage)", rounds, informative, wanted, wanted - informative)
