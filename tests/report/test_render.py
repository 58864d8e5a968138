from llmner.report.build import collect_report
from llmner.report.render import highlight_html, highlight_md, to_html, to_markdown
from llmner.rundir import load_runs

from .conftest import corrupt, synthetic_gold


def test_highlight_md_escapes_markdown():
    out = highlight_md(["a|b", "*x*"], [("T_1", 1, 2)], focus=("T_1", 1, 2))
    assert out == r"a\|b **[\*x\*]<sub>T\_1</sub>**"


def test_highlight_html_escapes_and_marks_focus():
    out = highlight_html(["<i>", "Ada"], [("PER", 1, 2)], focus=("PER", 1, 2), side="gold")
    assert out == '&lt;i&gt; <mark class="gold focus">Ada<sub>PER</sub></mark>'


def _data(make_run, n_resamples=100):
    gold = synthetic_gold(40)
    a = make_run("a", gold, corrupt(gold, 0.3, seed=1))
    b = make_run("b", gold, corrupt(gold, 0.1, seed=2))
    c = make_run("c", synthetic_gold(10, seed=5), synthetic_gold(10, seed=5))
    return collect_report(load_runs([a, b, c]), n_resamples=n_resamples)


def test_markdown_sections(make_run):
    md = to_markdown(_data(make_run))
    for heading in ["## Runs", "## F1 per entity type", "## Significance", "## Error analysis"]:
        assert heading in md
    assert "not compared: scored on different data" in md
    assert "**wrong type (same boundaries)**" in md and "gold: " in md
    assert "| a | b |" in md


def test_html_is_self_contained(make_run, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = _data(make_run)
    fig, ax = plt.subplots()
    fig.savefig(tmp_path / "x.png")
    plt.close(fig)
    data.plots.append(("A plot", "x.png"))
    page = to_html(data, tmp_path)
    assert 'src="data:image/png;base64,' in page
    assert 'src="x.png"' not in page
    assert "<table>" in page and 'class="pred focus"' in page
    assert "different data" in page
