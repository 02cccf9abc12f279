"""summary.json: what a run did and reached, for people and for sweep reports."""
from __future__ import annotations

import json
from pathlib import Path


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
