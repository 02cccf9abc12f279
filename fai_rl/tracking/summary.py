"""summary.json: what a run did and reached, for people and for sweep reports."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fai_rl.config.secrets import redact
from fai_rl.errors import ConfigError


@dataclass
class Summary:
    """summary.json of a run that trained: what it did and reached (a sweep job that failed writes its own, smaller
    record: fai_rl.sweeps.sweep_job)."""

    algorithm: str
    steps: int
    resumed_from: Optional[str]
    world_size: int
    effective_batch_size: int
    train_runtime_s: float
    total_runtime_s: float
    train_loss: float
    final_metrics: dict  # the last logged training metrics
    eval_before: dict
    eval_after: dict
    headline_metrics: list
    objective_metric: str
    objective: Any  # what a sweep optimises: objective_metric after training (None when the run did not log it)
    output_dir: str
    run_dir: str
    log_file: Optional[str]
    status: str = "completed"
    metric_for_best_model: Optional[str] = None  # the best checkpoint, when a metric picks one
    best_step: Optional[int] = None
    best_value: Optional[float] = None
    best_checkpoint: Optional[str] = None
    saved_model: Optional[str] = None
    alarms: list = field(default_factory=list)  # reward-hacking warnings
    stopped_by_alarm: bool = False
    upload: Optional[dict] = None  # the uploads' report, when upload.url is set
    peak_gpu_memory: Optional[dict] = None  # rank 0's peak allocated and reserved GiB on CUDA
    trackers_missed: dict = field(default_factory=dict)  # {tracker: calls it missed}: one stopped answering

    def to_dict(self) -> dict:
        fields = dataclasses.asdict(self)
        return {"algorithm": fields.pop("algorithm"), "status": fields.pop("status"), **fields}


def write_summary(path: Path, summary: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(redact(summary), indent=2, sort_keys=False, default=str) + "\n")
    tmp.replace(path)
    return path


def describe(summary: dict) -> str:
    """A few human lines: the headline metrics before -> after, and where things are."""
    lines = [f"fai-rl: {summary['algorithm']} {summary['status']} after {summary['steps']} steps "
             f"in {summary['train_runtime_s']:.1f}s"]
    before, after = summary.get("eval_before", {}), summary.get("eval_after", {})
    for key in summary.get("headline_metrics", []):
        if key in after:
            start = f"{before[key]:.3f} -> " if key in before else ""
            lines.append(f"  {key}: {start}{after[key]:.3f}")
    if summary.get("best_step") is not None:
        lines.append(f"  best {summary['metric_for_best_model']}: {summary['best_value']:.3f} at step "
                     f"{summary['best_step']}; the saved model is {summary['saved_model']}")
    for alarm in summary.get("alarms", []):
        lines.append(f"  WARNING at step {alarm['step']}: {alarm['message']}")
    for tracker, missed in summary.get("trackers_missed", {}).items():
        lines.append(f"  WARNING: {tracker} missed {missed} call(s); metrics.jsonl holds every metric")
    lines.append(f"  model:   {summary['output_dir']}")
    lines.append(f"  run dir: {summary['run_dir']}")
    lines.append(f"  log:     {summary['log_file']}")
    return "\n".join(lines)


def pick_objective(name: str, explicit: bool, eval_after: dict, train_metrics: dict):
    """The value a sweep optimises: `name` after training's evaluation, else its last logged training value
    (for an eval_* name without eval data: the same metric on the training batches, e.g. eval_reward -> reward).

    A metric named by the user (training.objective_metric) that the run never logged is an error that lists
    the ones it did; the algorithm's default may be absent, which gives None.
    """
    for source, key in ((eval_after, name), (train_metrics, name), (train_metrics, name.removeprefix("eval_"))):
        if key in source:
            return source[key]
    if explicit:
        logged = sorted(k for k, v in {**train_metrics, **eval_after}.items() if isinstance(v, (int, float)))
        raise ConfigError(f"'training.objective_metric' is '{name}', which this run did not log "
                          f"(eval_* metrics need data.eval_datasets); logged: {', '.join(logged)}")
    return None


def best_checkpoint(state, metric, loaded_at_end: bool) -> dict:
    """The best evaluation during training by `metric` (HF's TrainerState tracks it), and which model was saved."""
    if metric is None:
        return {}
    best = {"metric_for_best_model": metric, "best_step": state.best_global_step, "best_value": state.best_metric,
            "best_checkpoint": state.best_model_checkpoint}
    best_folder = f"checkpoint-{state.best_global_step}"
    if state.best_global_step is None:
        best["saved_model"] = f"the final one (step {state.global_step}); no evaluation during training logged {metric}"
    elif loaded_at_end and Path(state.best_model_checkpoint or "").name == best_folder:
        best["saved_model"] = f"the best one (step {state.best_global_step}, training.load_best_model_at_end)"
    else:
        best["saved_model"] = (f"the final one (step {state.global_step}), not the best (step "
                               f"{state.best_global_step}); training.load_best_model_at_end=true saves the best")
    return best
