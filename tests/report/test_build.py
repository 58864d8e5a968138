from llmner.cli import main
from llmner.report.build import build_report

from .conftest import corrupt, synthetic_gold


def test_build_report_writes_everything(make_run, tmp_path):
    gold = synthetic_gold(50)
    a = make_run("a", gold, corrupt(gold, 0.3), train_seconds=20.0)
    b = make_run("b", gold, corrupt(gold, 0.1), format="generative", train_seconds=900.0)
    written = build_report([a, b], tmp_path / "out", n_resamples=200)
    assert set(written) == {
        "report.md", "report.html", "per_type_f1.png", "f1_vs_time.png", "throughput.png",
    }  # fmt: skip
    assert all(p.stat().st_size > 0 for p in written.values())
    md = (tmp_path / "out" / "report.md").read_text()
    assert "![F1 per entity type](per_type_f1.png)" in md


def test_cli_compare(make_run, tmp_path, capsys):
    gold = synthetic_gold(20)
    a = make_run("a", gold, gold)
    b = make_run("b", gold, corrupt(gold, 0.5))
    out = tmp_path / "report"
    status = main(["compare", str(a), str(b), "--output", str(out), "--bootstrap", "50"])
    assert status == 0
    assert (out / "report.html").is_file()
    assert "report.md" in capsys.readouterr().out


def test_cli_compare_names_the_missing_file(make_run, tmp_path, capsys):
    a = make_run("a", [["B-PER"]], [["B-PER"]])
    (a / "metrics.json").unlink()
    status = main(["compare", str(a), "--output", str(tmp_path / "out")])
    assert status == 2
    err = capsys.readouterr().err
    assert "metrics.json" in err and "Traceback" not in err
