"""One evaluation run (`fai-rl-eval --recipe`): answer as inference does and score every row (or, MMLU by
log-likelihood, score every choice), report accuracy."""
from __future__ import annotations

from fai_rl.evaluation.benchmark_report import printed, score_table, summary_rows, write_report
from fai_rl.evaluation.mmlu_loglikelihood import loglikelihood_table
from fai_rl.inference.run import failed_rows, run_inference, write_csv


def run_evaluation(recipe) -> int:
    """The exit code: 0, or 1 when some requests failed (scored as wrong; a rerun asks them again)."""
    if recipe.mmlu_protocol == "loglikelihood":
        table, names = loglikelihood_table(recipe)
    else:
        table, names = run_inference(recipe, write=False)
        score_table(recipe, table, names)
    write_csv(table, recipe.output_file)
    rows = summary_rows(recipe, table, names)
    print(printed(rows, recipe.checkpoint_column))
    for what, path in write_report(recipe, rows, names).items():
        print(f"{what} written to {path}")
    return 1 if failed_rows(table) else 0
