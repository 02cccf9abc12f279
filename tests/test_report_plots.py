"""The sweep report's objective plot: a log-scale learning-rate axis labels its decades only (no overlapping
minor labels)."""
from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from fai_rl.sweeps.report_plots import _scatter
from fai_rl.sweeps.results import Job


def test_log_axis_labels_only_decades():
    rates = ["2e-05", "4.5e-05", "1.1e-04", "5e-04"]  # ~1.4 decades: matplotlib would label 2, 3, 4, 6 x 10^n too
    jobs = [Job(i, Path(f"/sweep/{i}"), {"training.learning_rate": r}, {"status": "completed", "objective": i / 10})
            for i, r in enumerate(rates)]
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    _scatter(ax, jobs, "training.learning_rate", jobs[3])
    fig.canvas.draw()
    assert ax.get_xscale() == "log"
    minor = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    major = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert minor == []
    assert len(major) >= 2  # the decades stay labelled
