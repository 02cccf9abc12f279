"""Training curves from metrics.jsonl: one PNG per run, and the same panels overlaid for the jobs of a sweep.

matplotlib only (its object API with the Agg canvas: no display, no pyplot state), no torch.
"""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from fai_rl.config.run_files import RunFiles

# (panel title, metric keys drawn in it; a key ending in * stands for every logged key it begins): a panel appears
# when a run logged any of its keys.
# Train keys are solid lines, eval_* keys dashed with markers (TRL logs eval before and after training).
PANELS = [
    ("loss", ["loss", "eval_loss"]),
    ("reward accuracy", ["rewards/accuracies", "eval_rewards/accuracies"]),
    ("reward margin", ["rewards/margins", "eval_rewards/margins"]),
    ("reward", ["reward", "eval_reward"]),
    ("task metrics", ["eval_exact_answer_accuracy", "eval_pass_at_*"]),
    ("token accuracy", ["mean_token_accuracy", "eval_mean_token_accuracy"]),
    ("KL", ["kl", "eval_kl"]),
    ("learning rate", ["learning_rate"]),
    ("dynamic sampling", ["dynamic_sampling/dropped_share", "dynamic_sampling/informative_share"]),
    ("dynamic sampling rounds", ["dynamic_sampling/rounds"]),
]
log = logging.getLogger("fai_rl")


def read_metrics(path: Path) -> list:
    """The logged records of a run; a line still being written by a running job is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def series(records: list, key: str) -> tuple:
    """(steps, values) of one metric, skipping records without it or with a non-finite value."""
    steps, values = [], []
    for record in records:
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            steps.append(record.get("step", len(steps)))
            values.append(value)
    return steps, values


def matching(keys: list, logged: set) -> list:
    """The logged keys among `keys`, a key ending in * expanded to the logged keys it begins."""
    found = []
    for key in keys:
        found += sorted(k for k in logged if k.startswith(key[:-1])) if key.endswith("*") else [key] * (key in logged)
    return found


def present_panels(histories: dict) -> list:
    logged = {key for records in histories.values() for record in records for key in record}
    panels = [(title, matching(keys, logged)) for title, keys in PANELS]
    return [(title, keys) for title, keys in panels if keys]


def draw_curves(histories: dict, path: Path, title: str, highlight: str | None = None) -> Path:
    """One panel per metric group, one colour per history (label -> records); `highlight` is drawn thicker."""
    from matplotlib.figure import Figure  # ~0.3 s: loaded only to draw, not by every process reading metrics

    panels = present_panels(histories) or [("no metrics logged yet", [])]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(5 * cols, 3.6 * rows), layout="constrained")
    fig.suptitle(title)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    colors = [f"C{i % 10}" for i in range(len(histories))]
    for ax, (panel_title, keys) in zip(axes, panels):
        for color, (label, records) in zip(colors, histories.items()):
            width = 2.6 if label == highlight else 1.3
            legend_label = label  # once per history and panel
            for key in keys:
                steps, values = series(records, key)
                if not steps:
                    continue
                is_eval = key.startswith("eval_")
                ax.plot(steps, values, color=color, linewidth=width, linestyle="--" if is_eval else "-",
                        marker="o" if is_eval else None, markersize=3, label=legend_label)
                legend_label = None
        ax.set_title(panel_title + ("  (dashed: eval)" if any(k.startswith("eval_") for k in keys) else ""))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if panel_title == "learning rate":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if 1 < len(histories) <= 12:
        labelled = {}
        for ax in axes[:len(panels)]:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                labelled.setdefault(label, handle)
        fig.legend(labelled.values(), labelled.keys(), loc="outside lower center", ncols=min(3, len(labelled)),
                   fontsize=8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return Path(path)


def plot_run(run_dir: Path, title: str) -> Path:
    """<run_dir>/training_curves.png from <run_dir>/metrics.jsonl."""
    run_dir = Path(run_dir)
    return draw_curves({title: read_metrics(RunFiles(run_dir).metrics)}, RunFiles(run_dir).curves, title)


def write_run_curves(run_dir: Path, title: str) -> None:
    """plot_run at the end of training: a plotting problem is logged but does not fail a finished run."""
    try:
        log.info("training curves: %s", plot_run(run_dir, title))
    except Exception as err:  # noqa: BLE001 - the model and summary are already saved
        log.warning("could not draw the training curves: %s: %s", type(err).__name__, err)
