"""Learning-curve tables and plots from nSIZE/NAME-sSEED run folders."""

import json

import yaml
from lab.pages import render

from llmner.report.curves import curve_points, curve_runs
from llmner.report.plots import plot_learning_curve


def write(root, size, name, seed, f1, sentences):
    run = root / f"n{size}" / f"{name}-s{seed}"
    run.mkdir(parents=True)
    metrics = {"f1": f1, "num_train_sentences": sentences, "seed": seed, "model": "m",
               "per_type": {"PER": {"f1": f1}}}  # fmt: skip
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "config.yaml").write_text(yaml.safe_dump({"use_lora": True, "lora_r": 4}))


def test_table_rows_per_configuration_and_size_and_plot(tmp_path):
    for name in ("echo", "minilm"):
        for seed, f1 in ((1, 0.4), (2, 0.6)):
            write(tmp_path, 50, name, seed, f1, 50)
        write(tmp_path, "all", name, 1, 0.8, 120)
    lines = render("curve .", tmp_path).splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert lines[-1] == "None of these runs records its commit."
    names = [line.split("|")[1].strip() for line in table[2:]]
    assert names == ["echo-n50", "echo-nall", "minilm-n50", "minilm-nall"]
    assert "0.5000 ± 0.1414" in table[2] and "1, 2" in table[2]
    points = curve_points(curve_runs(tmp_path))
    assert ("echo", 120, 0.8) in points and len(points) == 6
    assert plot_learning_curve(points, tmp_path / "curve.png").stat().st_size > 0
    assert plot_learning_curve([], tmp_path / "none.png") is None


def test_compare_shows_a_learning_curve_beside_the_runs(make_run, tmp_path):
    from llmner.cli import main

    from .conftest import synthetic_gold

    curve = tmp_path / "curve"
    for seed, f1 in ((1, 0.4), (2, 0.6)):
        write(curve, 50, "echo", seed, f1, 50)
    write(curve, 100, "echo", 1, 0.7, 100)
    gold = synthetic_gold(10)
    run = make_run("a", gold, gold)
    out = tmp_path / "report"
    assert main(["compare", str(run), "--curve", str(curve), "--output", str(out)]) == 0
    md = (out / "report.md").read_text()
    assert f"## Learning curve: {curve}" in md and "![learning curve](learning_curve_1.png)" in md
    rows = [line for line in md.splitlines() if line.startswith("| echo-n")]
    assert [r.split("|")[1].strip() for r in rows] == ["echo-n50", "echo-n100"]
    assert "0.5000 ± 0.1414" in rows[0]
    assert (out / "learning_curve_1.png").stat().st_size > 0
    html = (out / "report.html").read_text()
    assert "Learning curve" in html and html.count("data:image/png;base64") >= 2


def test_compare_names_a_curve_folder_without_runs(make_run, tmp_path, capsys):
    from llmner.cli import main

    run = make_run("a", [["B-PER"]], [["B-PER"]])
    empty = tmp_path / "empty"
    empty.mkdir()
    status = main(["compare", str(run), "--curve", str(empty), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 2 and "nSIZE/NAME-sSEED" in err and "Traceback" not in err
