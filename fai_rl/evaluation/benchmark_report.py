"""An evaluation's results: every row scored (a CSV), accuracy per checkpoint and per subject (printed, and written
as <output>_summary.json / _summary.csv), and accuracy by checkpoint as a PNG when several models were compared."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from fai_rl.evaluation.benchmarks import score
from fai_rl.inference.prompts import SUBJECT_COLUMN
from fai_rl.inference.run import column

STEP = re.compile(r"(\d+)$")


def score_table(recipe, table, names: list) -> None:
    """Add `predicted` and `correct` columns (per model when several) to the answers table."""
    several = len(names) > 1
    for name in names:
        responses = table[column(recipe, recipe.response_column, name, several)]
        scored = [score(recipe.task, None if pd.isna(r) else r, t, recipe.gsm8k_match)
                  for r, t in zip(responses, table[recipe.ground_truth_column])]
        table[column(recipe, "predicted", name, several)] = [p for p, _ in scored]
        table[column(recipe, "correct", name, several)] = [c for _, c in scored]


def summary_rows(recipe, table, names: list) -> list:
    """One row per model and subject ('all' first): n, correct, accuracy, unanswered (no answer could be read,
    failed requests included)."""
    several = len(names) > 1
    out = []
    for name in names:
        correct = table[column(recipe, "correct", name, several)].astype(bool)
        unread = table[column(recipe, "predicted", name, several)].isna()
        groups = [("all", slice(None))]
        if SUBJECT_COLUMN in table.columns:
            groups += [(s, table[SUBJECT_COLUMN] == s) for s in sorted(table[SUBJECT_COLUMN].astype(str).unique())]
        for subject, where in groups:
            n = int(correct[where].size)
            out.append({recipe.checkpoint_column: name, "task": recipe.task, "subject": subject, "n": n,
                        "correct": int(correct[where].sum()), "accuracy": float(correct[where].mean()) if n else 0.0,
                        "unanswered": int(unread[where].sum())})
    return out


def printed(rows: list, key: str) -> str:
    lines = [f"| {key} | subject | n | accuracy | unanswered |", "|---|---|---|---|---|"]
    lines += [f"| {r[key]} | {r['subject']} | {r['n']} | {r['accuracy']:.4f} | {r['unanswered']} |" for r in rows]
    return "\n".join(lines)


def order(names: list) -> list:
    """Checkpoints by their step (checkpoint-200 after checkpoint-40) when every name ends in one; else as given."""
    if all(STEP.search(n) for n in names):
        return sorted(names, key=lambda n: int(STEP.search(n).group(1)))
    return list(names)


def plot(rows: list, key: str, path: Path, title: str) -> Path:
    from matplotlib.figure import Figure  # ~0.3 s: loaded only to draw

    overall = {r[key]: r["accuracy"] for r in rows if r["subject"] == "all"}
    names = order(list(overall))
    fig = Figure(figsize=(max(5, 1.1 * len(names)), 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(range(len(names)), [overall[n] for n in names], marker="o", linewidth=1.6, color="C0")
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 4 else 0, fontsize=8)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    return path


def report_paths(output_file: str) -> dict:
    stem = Path(output_file).with_suffix("")
    return {"json": Path(f"{stem}_summary.json"), "csv": Path(f"{stem}_summary.csv"),
            "plot": Path(f"{stem}_accuracy.png")}


def write_report(recipe, rows: list, names: list) -> dict:
    paths = report_paths(recipe.output_file)
    protocol = {"mmlu_protocol": recipe.mmlu_protocol} if recipe.task == "mmlu" else {}
    paths["json"].write_text(json.dumps({"task": recipe.task, **protocol, "dataset": recipe.dataset_name,
                                         "results": rows}, indent=2) + "\n")
    pd.DataFrame(rows).to_csv(paths["csv"], index=False)
    if len(names) > 1:
        plot(rows, recipe.checkpoint_column, paths["plot"], f"{recipe.task} accuracy ({recipe.dataset_name})")
    else:
        paths.pop("plot")
    return paths
