"""A reward called as TRL calls it, with what can go wrong turned into one clear error that names the reward: an
exception (with the first row it fails on), a hang past `timeout_s`, a wrong return value. `parallel: N` splits a
batch over N processes for a CPU-heavy reward; an `async def` reward runs to completion."""
from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Optional

from fai_rl.errors import RunFailed
from fai_rl.rewards.values import check_values

PROMPT_EXCERPT = 80


def call(fn: Callable, batch: dict):
    """fn(**batch), awaited when fn is `async def`."""
    result = fn(**batch)
    return asyncio.run(result) if inspect.isawaitable(result) else result


def rows(batch: dict, start: int, stop: int) -> dict:
    """The batch's rows start..stop: per-row lists sliced, other keyword arguments kept."""
    size = len(batch["completions"])
    return {k: v[start:stop] if isinstance(v, list) and len(v) == size else v for k, v in batch.items()}


class GuardedReward:
    def __init__(self, name: str, fn: Callable, timeout_s: Optional[float] = None, parallel: Optional[int] = None):
        self.__name__ = name
        self.fn, self.timeout_s, self.parallel = fn, timeout_s, parallel
        self._pool = None

    def __call__(self, prompts=None, completions=None, **kwargs):
        batch = dict(prompts=prompts, completions=completions, **kwargs)
        values = self._within_timeout(batch) if self.timeout_s else self._guarded(batch)
        return check_values(self.__name__, values, len(completions))

    def _within_timeout(self, batch: dict):
        outcome: dict = {}

        def work():
            try:
                outcome["values"] = self._guarded(batch)
            except BaseException as err:  # noqa: BLE001 - handed to the calling thread
                outcome["error"] = err

        worker = threading.Thread(target=work, name=f"reward-{self.__name__}", daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            raise RunFailed(f"reward '{self.__name__}' did not return within timeout_s={self.timeout_s:g} s for "
                            f"{len(batch['completions'])} completions (a hang?); the newest complete checkpoint "
                            "is kept")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["values"]

    def _guarded(self, batch: dict):
        try:
            return self._parallel(batch) if self.parallel and self.parallel > 1 else call(self.fn, batch)
        except RunFailed:
            raise
        except Exception as err:  # noqa: BLE001 - any failure of user code is reported as one line
            raise RunFailed(f"reward '{self.__name__}' raised {type(err).__name__}: {err}{self._culprit(batch)}; "
                            "the newest complete checkpoint is kept")

    def _culprit(self, batch: dict) -> str:
        """' on row I (prompt: ...)' for the first row the reward fails on alone, or '' when none does."""
        for i in range(len(batch["completions"])):
            try:
                call(self.fn, rows(batch, i, i + 1))
            except Exception:  # noqa: BLE001 - looking for the row, not handling it
                prompt = (batch.get("prompts") or [None] * (i + 1))[i]
                return f" on row {i} of the batch (prompt: {str(prompt)[:PROMPT_EXCERPT]!r})"
        return ""

    def _parallel(self, batch: dict) -> list:
        if self._pool is None:  # fork: the workers inherit the loaded reward, nothing is imported again
            self._pool = ProcessPoolExecutor(self.parallel, mp_context=multiprocessing.get_context("fork"))
        size = len(batch["completions"])
        step = -(-size // self.parallel)
        parts = [rows(batch, s, s + step) for s in range(0, size, step)]
        values: list[Any] = []
        for part in self._pool.map(call, [self.fn] * len(parts), parts):
            values += list(part.tolist() if hasattr(part, "tolist") else part)
        return values
