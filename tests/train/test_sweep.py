"""llmner sweep: Optuna trials as normal runs, a loadable best config, shared studies."""

import json
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("optuna")

from lab.pages import render  # noqa: E402

from llmner.config import load_config, parse_args  # noqa: E402
from llmner.errors import InputError  # noqa: E402
from llmner.rundir import read_config  # noqa: E402
from llmner.train.sweep import load_space, parse_space, run_sweep  # noqa: E402


def _base(model_dir, conll) -> dict:
    return dict(
        model_name_or_path=str(model_dir),
        train_file=str(conll),
        validation_file=str(conll),
        test_file=str(conll),
        quantization="none",
        num_train_epochs=1,
        per_device_train_batch_size=4,
        lora_r=4,
        lora_alpha=8,
        seed=0,
        logging_steps=1,
    )


def test_two_trials_write_runs_a_table_and_a_loadable_best_config(
    tiny_llama_dir, tiny_conll, tmp_path
):
    space = parse_space(
        {"learning_rate": {"low": 1e-3, "high": 3e-2, "log": True}, "repeat": [1, 2]}
    )
    study = run_sweep(_base(tiny_llama_dir, tiny_conll), space, tmp_path / "sweep", trials=2)
    assert len([t for t in study.trials if t.value is not None]) == 2
    for t in study.trials:
        assert (tmp_path / "sweep" / f"trial-{t.number}" / "metrics.json").is_file()
    table = (tmp_path / "sweep" / "trials.md").read_text()
    assert table.count("| complete |") == 2 and "learning_rate" in table
    best = load_config(tmp_path / "sweep" / "best.yaml")
    assert best["learning_rate"] == study.best_params["learning_rate"]
    cfg = parse_args(["--config", str(tmp_path / "sweep" / "best.yaml")])
    assert cfg.options.repeat == study.best_params["repeat"]
    assert (tmp_path / "sweep" / "trials.png").stat().st_size > 0
    records = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["trials"]
    assert [r["validation_f1"] for r in records] == [t.value for t in study.trials]
    assert [r["params"] for r in records] == [t.params for t in study.trials]
    assert all(0 <= r["test_f1"] <= 1 and r["train_seconds"] > 0 for r in records)
    # the page table built from sweep.json is the sweep's own trials.md
    assert render("sweep sweep/sweep.json", tmp_path) + "\n" == table


def test_a_finished_sweep_run_again_starts_no_trial(tiny_llama_dir, tiny_conll, tmp_path):
    space = parse_space({"learning_rate": {"low": 1e-3, "high": 3e-2, "log": True}})
    base = _base(tiny_llama_dir, tiny_conll)
    run_sweep(base, space, tmp_path / "sweep", trials=1)
    study = run_sweep(base, space, tmp_path / "sweep", trials=1)
    assert len(study.trials) == 1
    assert not (tmp_path / "sweep" / "trial-1").exists()


def test_a_space_of_lists_runs_each_point_once_however_many_trials(
    tiny_llama_dir, tiny_conll, tmp_path
):
    base = _base(tiny_llama_dir, tiny_conll)
    space = parse_space({"repeat": [1, 2]})
    study = run_sweep(base, space, tmp_path / "sweep", trials=5)
    assert sorted(t.params["repeat"] for t in study.trials) == [1, 2]
    again = run_sweep(base, space, tmp_path / "sweep", trials=5)
    assert len(again.trials) == 2


def test_two_workers_share_one_sqlite_study(tiny_llama_dir, tiny_conll, tmp_path):
    config = tmp_path / "base.yaml"
    config.write_text(yaml.safe_dump(_base(tiny_llama_dir, tiny_conll)))
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 1.0e-3, high: 3.0e-2, log: true}\n")
    out = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "llmner",
        "sweep",
        "--config",
        str(config),
        "--space",
        str(space),
        "--trials",
        "2",
        "--output",
        str(out),
    ]
    import optuna

    url = f"sqlite:///{out / 'study.db'}"
    out.mkdir()
    optuna.create_study(study_name="llmner", storage=url, direction="maximize")
    workers = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)
    ]
    logs = [w.communicate(timeout=600)[0].decode() for w in workers]
    assert all(w.returncode == 0 for w in workers), logs
    study = optuna.load_study(study_name="llmner", storage=url)
    done = [t for t in study.trials if t.value is not None]
    assert len(done) >= 2
    assert len({t.number for t in done}) == len(done)
    assert {f"trial-{t.number}" for t in done} <= {p.name for p in out.iterdir()}


@pytest.mark.parametrize(
    "text, message",
    [
        ("output_dir: [a, b]\n", "not an option a search can vary"),
        ("nosuch: [1, 2]\n", "not an option a search can vary"),
        ("lora_r: []\n", "an empty list"),
        ("learning_rate: {low: 0.1, high: 0.01}\n", "an empty range"),
        ("learning_rate: {low: 0, high: 0.1, log: true}\n", "log range needs low > 0"),
        ("lora_r: 8\n", "expected a list of values"),
    ],
    ids=["fixed", "unknown", "empty-list", "empty-range", "log-zero", "scalar"],
)
def test_bad_space_is_one_line_naming_file_and_line(tmp_path, text, message):
    path = tmp_path / "space.yaml"
    path.write_text("lora_alpha: [16, 32]\n" + text)
    with pytest.raises(InputError, match=message) as e:
        load_space(path)
    assert str(path) in str(e.value) and ":2" in str(e.value)


# the test plays a dead worker by hand (ask() outside optimize(), heartbeats on), which
# Optuna warns about; run_sweep itself silences the experimental-heartbeat notice
@pytest.mark.filterwarnings(
    "ignore::UserWarning:optuna", "ignore::optuna.exceptions.ExperimentalWarning"
)
def test_a_trial_killed_mid_run_is_redone_with_its_parameters(tiny_llama_dir, tiny_conll, tmp_path):
    import time

    import optuna
    from optuna.storages import RDBStorage

    out = tmp_path / "sweep"
    out.mkdir()
    storage = RDBStorage(f"sqlite:///{out / 'study.db'}", heartbeat_interval=1, grace_period=3)
    study = optuna.create_study(study_name="llmner", storage=storage, direction="maximize")
    dist = optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)
    dead = study.ask({"learning_rate": dist})  # a worker took it, then died
    storage.record_heartbeat(dead._trial_id)
    time.sleep(4)
    space = parse_space({"learning_rate": {"low": 1e-3, "high": 3e-2, "log": True}})
    study = run_sweep(_base(tiny_llama_dir, tiny_conll), space, out, trials=1, heartbeat=1)
    states = {t.number: t.state.name for t in study.trials}
    assert states[dead.number] == "FAIL"
    redone = [t for t in study.trials if t.value is not None]
    assert len(redone) == 1
    assert redone[0].params == dead.params


def test_finetune_options_after_the_sweeps_override_the_config(
    tiny_llama_dir, tiny_conll, tmp_path, capsys
):
    from llmner.cli import main

    base = _base(tiny_llama_dir, tiny_conll)
    base["max_train_samples"] = 2
    config = tmp_path / "base.yaml"
    config.write_text(yaml.safe_dump(base))
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: [0.01]\n")
    out = tmp_path / "sweep"
    argv = ["sweep", "--config", str(config), "--space", str(space), "--trials", "1"]
    argv += ["--output", str(out), "--max_train_samples", "3", "--lora_r", "2"]
    assert main(argv) == 0
    run = read_config(out / "trial-0")
    assert run["max_train_samples"] == 3 and run["lora_r"] == 2
    best = load_config(out / "best.yaml")
    assert best["max_train_samples"] == 3 and best["lora_r"] == 2
    assert json.loads((out / "trial-0" / "metrics.json").read_text())["num_train_sentences"] == 3
    # a flag that is no option of recipes/finetune.py: one line, exit status 2
    assert main([*argv[:-4], "--max_train_sample", "3"]) == 2
    assert "--max_train_sample" in capsys.readouterr().err


def test_other_commands_still_refuse_unknown_arguments():
    from llmner.cli import main

    with pytest.raises(SystemExit) as e:
        main(["models", "--max_train_samples", "3"])
    assert e.value.code == 2
