"""summary.json: what a run did and reached, for people and for sweep reports."""
from __future__ import annotations

import json
from pathlib import Path

from fai_rl.config.errors import ConfigError


def write_summary(path: Path, summary: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, sort_keys=False, default=str) + "\n")
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
