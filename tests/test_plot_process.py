"""The training-curve plot drawn by the helper process forked as training starts."""
from __future__ import annotations

import json
import logging

from test_sweeps import assert_valid_png

from fai_rl.tracking.plot_process import CurvesPlotter


def write_metrics(run_dir):
    run_dir.mkdir(parents=True, exist_ok=True)
    records = [{"step": s, "loss": 0.7 - s / 100, "learning_rate": 1e-3 * (1 - s / 20)} for s in range(0, 20, 2)]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_helper_draws_the_curves_when_asked(tmp_path, caplog):
    plotter = CurvesPlotter()
    assert plotter.pid is not None
    write_metrics(tmp_path)
    plotter.start(tmp_path, "dpo: test")
    with caplog.at_level(logging.INFO, logger="fai_rl"):
        plotter.finish()
    assert_valid_png(tmp_path / "training_curves.png")
    assert "training curves:" in caplog.text
    assert plotter.close() is None  # already reaped


def test_helper_leaves_without_drawing_when_the_run_ends_early(tmp_path):
    plotter = CurvesPlotter()
    write_metrics(tmp_path)
    assert plotter.close() == 0
    assert not (tmp_path / "training_curves.png").exists()


def test_a_failing_plot_is_logged_not_raised(tmp_path, caplog):
    plotter = CurvesPlotter()
    blocked = tmp_path / "file"
    blocked.write_text("a file where the run dir should be")
    plotter.start(blocked, "dpo: test")
    with caplog.at_level(logging.WARNING, logger="fai_rl"):
        plotter.finish()
    assert "could not draw the training curves" in caplog.text
