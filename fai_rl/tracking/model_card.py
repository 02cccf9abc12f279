"""README.md model card for every saved model folder: what it is, how it was trained, how to reproduce it."""
from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from fai_rl.config.run_files import RunFiles
from fai_rl.config.secrets import redact

HYPERPARAMETERS = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "max_steps",
                   "num_train_epochs", "warmup_steps", "seed")


def command_overrides(run_dir: Path):
    """The command-line overrides the run was started with (None when not started from the CLI)."""
    overrides_file = RunFiles(Path(run_dir)).hydra_overrides
    return yaml.safe_load(overrides_file.read_text()) or [] if overrides_file.exists() else None


def command(overrides: list) -> str:
    return " ".join(["fai-rl", *(shlex.quote(o) for o in overrides)])


def reproduce_command(run_dir: Path) -> str:
    overrides = command_overrides(run_dir)
    return "fai-rl  # overrides unknown (run not started from the CLI)" if overrides is None else command(overrides)


def resume_command(run) -> str:
    """The command that continues `run` from its newest complete checkpoint (its output dir named explicitly)."""
    kept = [o for o in command_overrides(Path(run.run_dir or ".")) or []
            if not o.lstrip("+~").startswith(("training.output_dir=", "training.resume=", "hydra.run.dir="))]
    return command([*kept, f"training.output_dir={run.training.output_dir}", "training.resume=auto"])


def render(run, summary: dict) -> str:
    algo = {k: v for k, v in vars(run.algorithm).items() if k not in ("name", "trainer")}
    hyper = {k: getattr(run.training, k) for k in HYPERPARAMETERS}
    data = ", ".join(f"{d.name} ({d.split})" for d in run.data.datasets)
    rows = "\n".join(f"| {k} | {v} |" for k, v in {**hyper, **algo}.items())
    after = summary.get("eval_after") or summary.get("final_metrics") or {}
    metrics = "\n".join(f"| {k} | {v:.4g} |" for k, v in after.items() if isinstance(v, (int, float)))
    lora = f"LoRA adapter (r={run.model.lora.r}, alpha={run.model.lora.alpha})" if run.model.lora.enabled else "full"
    text = f"""---
library_name: transformers
tags: [fai-rl, {run.algorithm.name}, trl]
---
# {run.training.run_name}

Trained with fai-rl, algorithm **{run.algorithm.name}** ({lora} fine-tuning).

- Base model: `{run.model.base_model_name}`
- Data: {data}
- Steps: {summary.get('steps')}, status: {summary.get('status')}

## Hyperparameters
| key | value |
|---|---|
{rows}

## Final metrics
| metric | value |
|---|---|
{metrics}

## Reproduce
```bash
{reproduce_command(Path(summary.get('run_dir', '.')))}
```
"""
    return redact(text)


def write_model_card(folder: Path, run, summary: dict) -> Path:
    path = Path(folder) / "README.md"
    path.write_text(render(run, summary))
    return path
