import matplotlib.pyplot as plt
import pytest

from llmner.report import plots
from llmner.rundir import load_runs

from .conftest import corrupt, synthetic_gold

PNG = b"\x89PNG"


@pytest.fixture
def runs(make_run):
    gold = synthetic_gold(30)
    a = make_run("a", gold, corrupt(gold, 0.2), train_seconds=10.0)
    b = make_run("b", gold, corrupt(gold, 0.4), train_seconds=5000.0)
    return load_runs([a, b])


@pytest.mark.parametrize(
    "draw", [plots.plot_per_type_f1, plots.plot_f1_vs_time, plots.plot_throughput]
)
def test_plots_write_pngs_and_close_figures(runs, tmp_path, draw):
    before = plt.get_fignums()
    path = draw(runs, tmp_path / "p.png")
    assert path.read_bytes().startswith(PNG)
    assert plt.get_fignums() == before


def test_log_scale_when_times_spread(runs, tmp_path, monkeypatch):
    scales = []
    monkeypatch.setattr(plt.Axes, "set_xscale", lambda self, s, **k: scales.append(s))
    plots.plot_f1_vs_time(runs, tmp_path / "p.png")
    assert scales == ["log"]


def test_f1_against_time_starts_at_zero(make_run, tmp_path, monkeypatch):
    """Two runs 0.006 apart: a y-axis scaled to the data would make the gap fill the plot."""
    gold = synthetic_gold(30)
    a = make_run("a", gold, corrupt(gold, 0.2), train_seconds=10.0, f1=0.741)
    b = make_run("b", gold, corrupt(gold, 0.2), train_seconds=20.0, f1=0.747)
    limits = []
    monkeypatch.setattr(
        plt.Figure, "savefig", lambda fig, *a, **k: limits.append(fig.axes[0].get_ylim())
    )
    plots.plot_f1_vs_time(load_runs([a, b]), tmp_path / "p.png")
    assert limits == [(0.0, 1.05)]


def test_nothing_to_plot_gives_none(make_run, tmp_path):
    bare = make_run(
        "bare", [["O"]], [["O"]], train_seconds=None, train_tokens_per_second=None,
        eval_sentences_per_second=None,
    )  # fmt: skip
    runs = load_runs([bare])
    runs[0].metrics["per_type"] = {}
    for draw in (plots.plot_per_type_f1, plots.plot_f1_vs_time, plots.plot_throughput):
        assert draw(runs, tmp_path / "p.png") is None
