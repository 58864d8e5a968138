"""recipes/benchmark.py on a tiny model: seeds, reuse only of the same config, failures
named with exit status 1, run files collected without predictions.

The benchmark runs in the test's process (the ``run_recipe`` fixture); each of its runs is
still a process of its own, as for users."""

import json
import shutil

import pytest
import yaml
from recipe_module import load_recipe


@pytest.fixture
def setup(tmp_path, tiny_data, tiny_config, write_configs):
    base = dict(tiny_config, num_train_epochs=2)
    return tmp_path, tiny_data, write_configs(causal=base, echo={**base, "repeat": 1})


def bench(run_recipe, tmp, data, configs, *extra):
    args = ["--data", str(data), "--configs", str(configs), "--output_dir", str(tmp / "out")]
    args += ["--max_train_samples", "all", "--spacy_seconds", "0", "--seeds", "1,2"]
    return run_recipe("benchmark", *args, *extra)


def _collect(run_recipe, out, dest):
    return run_recipe("benchmark", "--output_dir", str(out), "--collect", str(dest))


@pytest.mark.slow
def test_seeds_reuse_failures_and_collect(setup, run_recipe):
    tmp, data, configs = setup
    first = bench(run_recipe, tmp, data, configs)
    assert first.returncode == 0, first.stdout + first.stderr
    runs = sorted(p.name for p in (tmp / "out").iterdir() if (p / "metrics.json").exists())
    assert runs == ["causal-s1", "causal-s2", "echo-s1", "echo-s2"]
    stamp = (tmp / "out" / "echo-s1" / "metrics.json").stat().st_mtime_ns

    again = bench(run_recipe, tmp, data, configs)
    assert again.returncode == 0
    assert (tmp / "out" / "echo-s1" / "metrics.json").stat().st_mtime_ns == stamp, "reused"

    changed = yaml.safe_load((configs / "echo.yaml").read_text())
    (configs / "echo.yaml").write_text(yaml.safe_dump({**changed, "learning_rate": 2e-2}))
    refused = bench(run_recipe, tmp, data, configs)
    assert refused.returncode != 0
    assert "holds another configuration" in refused.stderr and "learning_rate" in refused.stderr

    (configs / "broken.yaml").write_text(yaml.safe_dump({**changed, "lora_r": -1}))
    failed = bench(run_recipe, tmp, data, configs, "--runs", "broken", "--seeds", "1")
    assert failed.returncode == 1 and "broken-s1" in failed.stderr

    dest = tmp / "results"
    done = _collect(run_recipe, tmp / "out", dest)
    assert done.returncode == 0, done.stderr
    for run in runs:
        assert sorted(p.name for p in (dest / "runs" / run).iterdir()) == [
            "config.yaml",
            "metrics.json",
            "sentence_counts.json",
        ]
    pairs = json.loads((dest / "bootstrap.json").read_text())
    assert [(p["a"], p["b"], p["seeds"]) for p in pairs] == [("causal", "echo", [1, 2])]
    assert (
        pairs[0]["sentences"]
        == 2
        * json.loads((dest / "runs" / "echo-s1" / "metrics.json").read_text())["num_eval_sentences"]
    )


@pytest.mark.slow
def test_several_data_folders_run_the_matrix_one_folder_each(setup, run_recipe):
    tmp, data, configs = setup
    other = tmp / "other"
    shutil.copytree(data, other)
    done = bench(run_recipe, tmp, data, configs, "--data", str(data), str(other),
                 "--runs", "causal", "--seeds", "1", "--max_eval_samples", "all")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for folder in (data.name, other.name):
        run = tmp / "out" / folder / "causal-s1"
        assert (run / "metrics.json").is_file()
        assert yaml.safe_load((run / "config.yaml").read_text())["data"]["dataset"].endswith(folder)


def test_a_missing_data_folder_is_refused_before_any_run(setup, run_recipe):
    tmp, data, configs = setup
    done = bench(run_recipe, tmp, data, configs, "--data", str(data), str(tmp / "nowhere"))
    assert done.returncode == 2
    assert "no data folder" in done.stderr and "nowhere" in done.stderr
    assert not (tmp / "out").exists()


@pytest.mark.slow
def test_a_run_stopped_before_its_first_checkpoint_starts_again(setup, run_recipe):
    tmp, data, configs = setup
    (tmp / "out" / "causal-s1" / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    done = bench(run_recipe, tmp, data, configs, "--runs", "causal", "--seeds", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp / "out" / "causal-s1" / "metrics.json").is_file()


def test_collect_gives_older_runs_the_validation_curve_of_their_own_log(tmp_path, run_recipe):
    log = "step,epoch,key,value\n9,1.0,loss,0.7\n9,1.0,eval_f1,0.5\n18,2.0,eval_f1,0.6\n"
    runs = {  # name: (best_validation_f1, train_steps, log.csv)
        "old-s1": (0.6, 18, log),
        "other-s2": (0.7, 18, log),  # its log is not its own: another best score
        "short-s3": (0.6, 9, log),  # nor this one's: a score logged past its last step
        "broken-s4": (0.6, 18, log + "27,x,eval_f1,0.1\n"),
    }
    for name, (best, steps, text) in runs.items():
        run = tmp_path / "out" / name
        run.mkdir(parents=True)
        (run / "config.yaml").write_text("model_name_or_path: tiny\n")
        metrics = {"f1": 0.5, "best_validation_f1": best, "train_steps": steps}
        (run / "metrics.json").write_text(json.dumps(metrics))
        (run / "log.csv").write_text(text)
    dest = tmp_path / "results"
    done = _collect(run_recipe, tmp_path / "out", dest)
    assert done.returncode == 0, done.stderr
    old = json.loads((dest / "runs" / "old-s1" / "metrics.json").read_text())
    assert old["validation_curve"] == [
        {"epoch": 1.0, "step": 9, "f1": 0.5},
        {"epoch": 2.0, "step": 18, "f1": 0.6},
    ]
    assert old["validation_curve_from"] == "log.csv"
    for name in ("other-s2", "short-s3", "broken-s4"):
        kept = json.loads((dest / "runs" / name / "metrics.json").read_text())
        assert "validation_curve" not in kept and kept["f1"] == 0.5
    assert "old-s1: validation_curve read from its log.csv" in done.stdout
    assert "short-s3: no validation_curve:" in done.stdout
    assert "broken-s4: no validation_curve:" in done.stdout and "log.csv:5:" in done.stdout


def test_spacy_runs_at_every_seed_and_is_reused_only_as_asked(tmp_path, tiny_data, monkeypatch):
    """spaCy is a peer at every seed, not the first only; a finished spaCy run made with
    another time cap is refused, not silently taken."""
    module = load_recipe("benchmark")
    commands = []
    monkeypatch.setattr(module, "run", lambda cmd, log: commands.append(cmd) or True)
    out = tmp_path / "out"
    args = module.make_parser().parse_args(
        ["--data", str(tiny_data), "--seeds", "1,2", "--spacy_seconds", "60",
         "--max_train_samples", "all"]
    )  # fmt: skip
    assert module.bench_data(args, tiny_data, out, tmp_path, names=[]) == []
    spacy_runs = [c for c in commands if str(c[1]).endswith("spacy_ner.py")]
    assert [c[c.index("--seed") + 1] for c in spacy_runs] == ["1", "2"]
    assert all(c[c.index("--max_seconds") + 1] == "60" for c in spacy_runs)

    for seed, seconds in ((1, 60.0), (2, 30.0)):
        done = out / f"spacy-s{seed}"
        done.mkdir(parents=True)
        (done / "metrics.json").write_text("{}")
        config = {"max_seconds": seconds, "max_train_samples": None, "seed": seed}
        (done / "config.yaml").write_text(yaml.safe_dump(config))
    commands.clear()
    assert module.spacy(args, tiny_data, out, 1) is True and commands == []  # reused
    with pytest.raises(SystemExit, match="spacy-s2 holds another configuration.*max_seconds"):
        module.spacy(args, tiny_data, out, 2)
    fewer = module.make_parser().parse_args(
        ["--data", str(tiny_data), "--spacy_seconds", "60", "--max_train_samples", "5"]
    )
    with pytest.raises(SystemExit, match="spacy-s1 holds another .*max_train_samples"):
        module.spacy(fewer, tiny_data, out, 1)


def test_runs_collected_earlier_pair_with_new_ones_through_their_counts(tmp_path, run_recipe):
    """Predictions are not committed; the per-sentence counts are, so a run made after the
    predictions of the others are gone still gets its pooled bootstrap, the same one."""
    from lab.seeds import pooled_bootstrap

    from llmner.rundir import write_run

    gold = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"]] * 10
    miss = [["O", "O"], ["B-LOC", "O"], ["O", "B-ORG"]] * 10
    first, later, dest = tmp_path / "first", tmp_path / "later", tmp_path / "results"
    every = [write_run(first / f"{c}-s1", gold, p) for c, p in (("a", miss), ("b", gold))]
    every += [write_run(later / f"{c}-s2", gold, p) for c, p in (("a", gold), ("b", miss))]
    expected = pooled_bootstrap(every[0::2], every[1::2])  # from every run's predictions
    assert expected["seeds"] == [1, 2]
    assert _collect(run_recipe, first, dest).returncode == 0
    counts = json.loads((dest / "runs" / "a-s1" / "sentence_counts.json").read_text())
    assert counts["sentences"] == 30 and counts["counts"][0] == [0, 0, 1]
    assert "PER" not in json.dumps(counts), "numbers, no text"
    committed = json.loads((dest / "bootstrap.json").read_text())
    committed.append({"a": "c", "b": "d", "seeds": [1], "delta_f1": 0.1})  # runs long gone
    (dest / "bootstrap.json").write_text(json.dumps(committed))
    for run in (first / "a-s1", first / "b-s1"):
        (run / "predictions.conll").unlink()

    done = _collect(run_recipe, later, dest)
    assert done.returncode == 0, done.stderr
    assert "kept c against d over seeds [1]" in done.stdout
    pairs = json.loads((dest / "bootstrap.json").read_text())
    assert [(p["a"], p["b"], p["seeds"]) for p in pairs] == [("a", "b", [1, 2]), ("c", "d", [1])]
    assert pairs[0] == {"a": "a", "b": "b", **expected}


def test_collect_bootstraps_the_seeds_asked_for_into_the_file_named(tmp_path, run_recipe):
    """``--seeds`` at the collect: one seed's bootstrap beside the pooled one."""
    from lab.seeds import pooled_bootstrap

    from llmner.rundir import write_run

    gold = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"]] * 10
    miss = [["O", "O"], ["B-LOC", "O"], ["O", "B-ORG"]] * 10
    out, dest = tmp_path / "out", tmp_path / "results"
    s1 = [write_run(out / f"{c}-s1", gold, p) for c, p in (("a", miss), ("b", gold))]
    s2 = [write_run(out / f"{c}-s2", gold, p) for c, p in (("a", gold), ("b", miss))]
    assert _collect(run_recipe, out, dest).returncode == 0
    done = run_recipe("benchmark", "--output_dir", str(out), "--collect", str(dest),
                      "--seeds", "2", "--bootstrap_file", "bootstrap-s2.json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    pooled = json.loads((dest / "bootstrap.json").read_text())
    one = json.loads((dest / "bootstrap-s2.json").read_text())
    assert [p["seeds"] for p in pooled] == [[1, 2]] and [p["seeds"] for p in one] == [[2]]
    assert one[0] == {"a": "a", "b": "b", **pooled_bootstrap(s2[:1], s2[1:])}
    assert one[0]["delta_f1"] < 0 < pooled_bootstrap(s1[:1], s1[1:])["delta_f1"]

    again = run_recipe("benchmark", "--output_dir", str(out), "--collect", str(dest),
                       "--seeds", "2", "--bootstrap_file", "bootstrap.json")  # fmt: skip
    assert "kept a against b over seeds [1, 2] as it was: not every one of their runs is " \
        "among --seeds" in again.stdout  # fmt: skip
    assert json.loads((dest / "bootstrap.json").read_text()) == pooled


def test_seeds_are_given_with_commas_or_spaces():
    module = load_recipe("benchmark")
    parse = module.make_parser().parse_args
    assert module.seed_list(parse(["--seeds", "42,13", "7", "13"])) == [42, 13, 7]
    assert module.seed_list(parse([])) is None
    with pytest.raises(SystemExit) as err:
        parse(["--seeds", "7,x"])
    assert err.value.code == 2


def test_a_corrupt_counts_file_names_itself(tmp_path):
    from lab.seeds import pooled_bootstrap

    from llmner.errors import InputError
    from llmner.rundir import write_run

    a = write_run(tmp_path / "a-s1", [["B-PER"]], [["B-PER"]])
    b = tmp_path / "b-s1"
    b.mkdir()
    (b / "sentence_counts.json").write_text(
        '{"fingerprint": "x", "sentences": 2, "counts": [[1, 1, 1]]}'
    )
    with pytest.raises(
        InputError, match=r"b-s1/sentence_counts.json: expected .*1 rows of counts for 2"
    ):
        pooled_bootstrap([a], [b])
