"""Every file of a run directory, named once: what the front process writes there, what each rank reads and
writes, and what sweeps, reports and trackers read back afterwards.

    <run_dir>/config.yaml          the validated config (plain YAML, secrets removed); every rank reads it
    <run_dir>/deepspeed.json       the DeepSpeed config, generated or the user's with the run's values filled in
    <run_dir>/metrics.jsonl        every logged metric, one JSON object a line
    <run_dir>/summary.json         the run's result (status, objective, before/after evaluation, where things are)
    <run_dir>/training_curves.png  the curves of metrics.jsonl
    <run_dir>/eval.json            fai-rl-eval's metrics
    <run_dir>/error.txt            a sweep job's failure
    <run_dir>/vllm_server.log      the vLLM server's output (algorithm.generation.vllm_mode=server)
    <run_dir>/tensorboard/         TensorBoard event files (tracking.tensorboard)
    <run_dir>/watchdog/            the watchdog's per-rank reports and stacks
    <run_dir>/.hydra/              Hydra's record of the command line and the composed config
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunFiles:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def deepspeed(self) -> Path:
        return self.root / "deepspeed.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def curves(self) -> Path:
        return self.root / "training_curves.png"

    @property
    def eval(self) -> Path:
        return self.root / "eval.json"

    @property
    def error(self) -> Path:
        return self.root / "error.txt"

    @property
    def vllm_log(self) -> Path:
        return self.root / "vllm_server.log"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def watchdog(self) -> Path:
        return self.root / "watchdog"

    @property
    def hydra(self) -> Path:
        return self.root / ".hydra"

    @property
    def hydra_overrides(self) -> Path:
        return self.hydra / "overrides.yaml"


def run_files(run) -> RunFiles:
    """The files of `run`'s directory: run.run_dir, or training.output_dir for a run given without one (tests,
    train(run) called directly)."""
    return RunFiles(Path(run.run_dir or run.training.output_dir))
