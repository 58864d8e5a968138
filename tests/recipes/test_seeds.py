"""Seeds of one configuration: reused only for the configuration they ran, and pooled for
the bootstrap between two configurations."""

from lab.seeds import config_differences, pooled_bootstrap

from llmner.rundir import write_config, write_run


def test_pooled_bootstrap_pairs_seeds_and_refuses_other_sentences(tmp_path):
    gold = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"]] * 10
    miss = [["O", "O"], ["B-LOC", "O"], ["O", "B-ORG"]] * 10
    a = [write_run(tmp_path / f"a-s{s}", gold, miss) for s in (1, 2)]
    b = [write_run(tmp_path / f"b-s{s}", gold, gold) for s in (1, 2)]
    r = pooled_bootstrap(a, b, n_resamples=200)
    assert (r["sentences"], r["seeds"], r["f1_b"]) == (60, [1, 2], 1.0)
    assert r["delta_f1"] > 0 and r["p_value"] < 0.05
    assert pooled_bootstrap(a, b[:1])["seeds"] == [1], "only the seeds both ran"
    assert pooled_bootstrap(a[:1], b[1:]) is None, "no common seed"
    other = [write_run(tmp_path / f"c-s{s}", gold[:-1], gold[:-1]) for s in (1, 2)]
    assert pooled_bootstrap(a, other) is None, "different sentences"


def test_a_finished_run_matches_only_the_configuration_it_ran(tmp_path):
    config = {"training": {"learning_rate": 1e-3}, "format_options": {"repeat": 2}}
    write_config(tmp_path, config)
    same = {"learning_rate": 1e-3, "repeat": 2}
    assert config_differences(tmp_path, same) == [], "grouped keys and options read flat"
    other = {"learning_rate": 1e-4, "repeat": 2, "max_eval_samples": 9}
    assert config_differences(tmp_path, other) == ["learning_rate", "max_eval_samples"]
    assert config_differences(tmp_path, other, ignore=("learning_rate", "max_eval_samples")) == []
