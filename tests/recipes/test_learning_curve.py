"""recipes/learning_curve.py on a tiny model: two points (4 sentences and all 12), run
folders per size, the table and plot, the collected run files; bad sizes exit 2."""

from llmner.report.curves import curve_points, curve_runs
from llmner.rundir import read_config


def test_two_points_table_plot_and_collect(
    tmp_path, tiny_data, tiny_config, write_configs, run_recipe
):
    data = tiny_data
    configs = write_configs(tiny=dict(tiny_config, max_steps=2, eval_strategy="no"))
    out = tmp_path / "out"
    done = run_recipe("learning_curve", "--data", str(data), "--configs", str(configs),
                  "--sizes", "4,all", "--seeds", "1", "--output_dir", str(out),
                  "--logging_steps", "1")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    runs = curve_runs(out)
    assert [(r.label, r.sentences) for r in runs] == [("tiny-n4-s1", 4), ("tiny-nall-s1", 12)]
    assert read_config(out / "n4" / "tiny-s1")["logging_steps"] == 1
    assert [p[:2] for p in curve_points(runs)] == [("tiny", 4), ("tiny", 12)]
    table = (out / "learning_curve.md").read_text().splitlines()
    assert "| tiny-n4 |" in table[2] and "| tiny-nall |" in table[3]
    notes = table[4:]  # a checkout with uncommitted changes marks its runs -dirty, and says so
    assert notes in ([], ["", *notes[1:]]) and all("-dirty" in n for n in notes[1:])
    assert (out / "learning_curve.png").stat().st_size > 0

    dest = tmp_path / "results"
    collected = run_recipe("learning_curve", "--output_dir", str(out), "--collect", str(dest))
    assert collected.returncode == 0, collected.stderr
    assert sorted(p.name for p in (dest / "n4" / "runs" / "tiny-s1").iterdir()) == [
        "config.yaml",
        "metrics.json",
        "sentence_counts.json",
    ]
    assert (dest / "learning_curve.md").read_text() == (out / "learning_curve.md").read_text()


def test_bad_sizes_and_flags_are_one_line_exit_2(tmp_path, run_recipe):
    curve = ["learning_curve", "--data", "bc5cdr", "--output_dir", str(tmp_path)]
    done = run_recipe(*curve, "--sizes", "50,lots")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--sizes '50,lots'" in done.stderr
    done = run_recipe(*curve, "--sizes", "50", "--sizez", "1")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "unknown argument" in done.stderr
